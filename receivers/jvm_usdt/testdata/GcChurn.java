// The overhead benchmark's subject: allocation-heavy work (young collections all the time) for a
// fixed time, printing how much work it did, in how long, with how much CPU time of the whole
// process (GC threads and uprobe traps included). bench/jvm_usdt-overhead.ts compares the rates
// with and without bpfcol attached.
//   java GcChurn <seconds> [wait]   prints "ready" and, with wait, starts at the next line on stdin;
//                                   at the end prints "units <n> seconds <s> cpu <s> gcs <collections> gcms <ms>"
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;

public class GcChurn {
  static volatile Object sink;

  public static void main(String[] args) throws java.io.IOException {
    double seconds = Double.parseDouble(args[0]);
    System.out.println("ready");
    System.out.flush();
    if (args.length > 1 && args[1].equals("wait")) System.in.read();
    Object[] survivors = new Object[4096];
    long units = 0;
    long gcs0 = 0;
    long gcMs0 = 0;
    for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
      gcs0 += g.getCollectionCount();
      gcMs0 += g.getCollectionTime();
    }
    com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long cpu0 = os.getProcessCpuTime();
    long start = System.nanoTime();
    long deadline = start + (long) (seconds * 1e9);
    int i = 0;
    while (System.nanoTime() < deadline) {
      for (int k = 0; k < 1000; k++) {
        byte[] b = new byte[64 + (k & 1023)];
        sink = b;
        // Some objects live a little while, so collections copy and promote.
        if ((k & 31) == 0) survivors[i++ & 4095] = b;
      }
      units++;
    }
    double took = (System.nanoTime() - start) / 1e9;
    double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
    long gcs = -gcs0;
    long gcMs = -gcMs0;
    for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
      gcs += g.getCollectionCount();
      gcMs += g.getCollectionTime();
    }
    System.out.println("units " + units + " seconds " + took + " cpu " + cpu + " gcs " + gcs + " gcms " + gcMs);
  }
}
