// A JVM the jvm_usdt tests drive line by line on stdin, answering each command on stdout with the
// JVM's own view of itself (JMX) as one JSON line, so the tests compare bpfcol's numbers with it.
//   gc                     System.gc()
//   alloc <MiB>            allocates that much garbage in 1 MiB arrays (young collections)
//   threads <n> [daemon]   starts n threads that wait until stopthreads
//   stopthreads            releases and joins them
//   classes <n>            loads Payload through n new class loaders (n new classes)
//   dropclasses            forgets the loaders (their classes unload at the next full GC)
//   jmx                    only answers
//   exit                   exits 0
// Built with --release 17 so it runs on every JDK the tests find.
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.lang.management.ClassLoadingMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryUsage;
import java.lang.management.ThreadMXBean;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

public class Workload {
  static final List<Thread> parked = new ArrayList<>();
  static CountDownLatch release = new CountDownLatch(1);
  static final List<Class<?>> loaded = new ArrayList<>();
  static volatile Object sink;

  public static void main(String[] args) throws Exception {
    URL payload = args.length > 0 ? new File(args[0]).toURI().toURL() : null;
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    jmx(); // loads the management classes before the first measured command
    System.out.println("ready " + ProcessHandle.current().pid() + " " + jmx());
    String line;
    while ((line = in.readLine()) != null) {
      String[] w = line.trim().split("\\s+");
      switch (w[0]) {
        case "gc":
          System.gc();
          break;
        case "alloc":
          for (long i = 0, n = Long.parseLong(w[1]); i < n; i++) sink = new byte[1 << 20];
          sink = null;
          break;
        case "threads": {
          int n = Integer.parseInt(w[1]);
          boolean daemon = w.length > 2 && w[2].equals("daemon");
          CountDownLatch started = new CountDownLatch(n);
          CountDownLatch gate = release;
          for (int i = 0; i < n; i++) {
            Thread t = new Thread(() -> {
              started.countDown();
              try {
                gate.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }, "workload-" + parked.size());
            t.setDaemon(daemon);
            t.start();
            parked.add(t);
          }
          started.await();
          break;
        }
        case "stopthreads":
          release.countDown();
          for (Thread t : parked) t.join();
          parked.clear();
          release = new CountDownLatch(1);
          break;
        case "classes":
          for (int i = 0, n = Integer.parseInt(w[1]); i < n; i++) {
            // A loader without parent defines its own Payload: one more class per loader.
            URLClassLoader loader = new URLClassLoader(new URL[] {payload}, null);
            loaded.add(loader.loadClass("Payload"));
          }
          break;
        case "dropclasses":
          loaded.clear();
          break;
        case "jmx":
          break;
        case "exit":
          System.out.println("bye");
          System.exit(0);
          break;
        default:
          System.out.println("error unknown command " + w[0]);
          continue;
      }
      System.out.println("ok " + w[0] + " " + jmx());
    }
  }

  static String usage(MemoryUsage u) {
    return u == null ? "null" : "{\"used\":" + u.getUsed() + ",\"committed\":" + u.getCommitted() + ",\"max\":" + u.getMax() + "}";
  }

  static String jmx() {
    StringBuilder b = new StringBuilder("{\"pools\":[");
    boolean first = true;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (!first) b.append(',');
      first = false;
      b.append("{\"name\":\"").append(p.getName()).append("\",\"type\":\"").append(p.getType()).append("\",\"usage\":")
          .append(usage(p.getUsage())).append(",\"afterGc\":").append(usage(p.getCollectionUsage())).append('}');
    }
    b.append("],\"gcs\":[");
    first = true;
    for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (!first) b.append(',');
      first = false;
      b.append("{\"name\":\"").append(g.getName()).append("\",\"count\":").append(g.getCollectionCount())
          .append(",\"timeMs\":").append(g.getCollectionTime()).append('}');
    }
    ThreadMXBean t = ManagementFactory.getThreadMXBean();
    ClassLoadingMXBean c = ManagementFactory.getClassLoadingMXBean();
    b.append("],\"threads\":{\"live\":").append(t.getThreadCount()).append(",\"daemon\":").append(t.getDaemonThreadCount())
        .append(",\"started\":").append(t.getTotalStartedThreadCount()).append("},\"classes\":{\"loaded\":")
        .append(c.getTotalLoadedClassCount()).append(",\"unloaded\":").append(c.getUnloadedClassCount())
        .append(",\"current\":").append(c.getLoadedClassCount()).append("}}");
    return b.toString();
  }
}
