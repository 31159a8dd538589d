// Loaded by Workload through fresh class loaders: every load is a new class.
public class Payload {
  public static int value = 42;
}
