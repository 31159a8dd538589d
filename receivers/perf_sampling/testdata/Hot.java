// A CPU-bound Java program with known hot methods (hotA three times hotB's work per round) for
// the perf_sampling JIT test. Run with -XX:+PreserveFramePointer; the test asks the JVM for its
// perf map (jcmd PID Compiler.perfmap). Runs until it used the CPU seconds given as argv[0].
import java.lang.management.ManagementFactory;

public class Hot {
    static long hotA(long x) {
        for (int i = 0; i < 3_000_000; i++) x = x * 6364136223846793005L + 1442695040888963407L;
        return x;
    }

    static long hotB(long x) {
        for (int i = 0; i < 1_000_000; i++) x = x * 6364136223846793005L + 1442695040888963407L;
        return x;
    }

    public static void main(String[] args) {
        double limit = args.length > 0 ? Double.parseDouble(args[0]) : 2.0;
        var bean = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long x = 1;
        boolean printed = false;
        while (bean.getProcessCpuTime() / 1e9 < limit) {
            x = hotA(x);
            x = hotB(x);
            if (!printed) {
                System.out.println("ready");
                printed = true;
            }
        }
        if (x == 42) System.out.println(x);
    }
}
