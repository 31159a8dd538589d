// An Apache Kafka broker (test/peers/kafka.sh: the jars from Maven Central, OpenJDK 17 from
// Debian) for tests: KRaft mode, broker and controller in one JVM, its log dirs in a temp dir,
// the client listener on a loopback port chosen by the caller and the controller's on another
// free one. stop() stops the JVM and removes the dir.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.ts';

export interface KafkaBroker {
  port: number;
  /** The classpath of Kafka's jars (for Java clients run by tests). */
  classpath: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

const ROOT = join(import.meta.dirname, '..', '..');

/** Installs the jars if needed (idempotent) and returns their directory. */
export function kafkaLibs(): string {
  return execFileSync('bash', [join(ROOT, 'test/peers/kafka.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 }).trim();
}

/** Starts a broker on 127.0.0.1:port; `env` goes to its JVM (OTEL_SERVICE_NAME names it in spans). */
export async function startKafka(port: number, env: NodeJS.ProcessEnv = {}): Promise<KafkaBroker> {
  const classpath = `${kafkaLibs()}/*`;
  const dir = mkdtempSync(join(tmpdir(), 'bpfcol-kafka-'));
  const controllerPort = await freePort();
  const properties = join(dir, 'server.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      '',
    ].join('\n'),
  );
  const jvm = ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-cp', classpath];
  // a cluster id: 16 random bytes, base64url (Kafka's Uuid), never starting with '-' (the storage
  // tool would take it for an option: "--cluster-id: expected one argument", 1 run in 64), as
  // Kafka's own Uuid.randomUuid() ensures
  let clusterId: string;
  do clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-'));
  try {
    execFileSync('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties], { stdio: 'pipe', timeout: 120_000 });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`formatting Kafka's storage failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
  }
  const child = spawn('java', [...jvm, 'kafka.Kafka', properties], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([waitForPort(port, '127.0.0.1', 120_000), exited.then(() => Promise.reject(new Error(`the Kafka broker exited:\n${output}`)))]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, classpath, child, output: () => output, stop };
}
