// A small TCP peer that tests run inside a network namespace (test/support/netns.ts):
//   server <host> <port>                  listen; read each connection to its end, then close it.
//                                         Prints {"pid","port"} once listening.
//   send <host> <port> <bytes> [conns]    open conns (default 1) connections one after another, send
//                                         <bytes> on each, close, wait for the peer's close.
//   connect <host> <port> <count> <ms>    count connection attempts, each given up after <ms>.
// Each command but server prints one JSON line with its pid and what happened.
import { connect, createServer, type Socket } from 'node:net';

const [command, host = '', portText = '', ...rest] = process.argv.slice(2);
const port = Number(portText);

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

function attempt(timeoutMs: number): Promise<{ localPort: number | undefined; result: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let localPort: number | undefined;
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    const finish = (result: string) => {
      clearTimeout(timer);
      localPort ??= socket.localPort;
      socket.destroy();
      resolve({ localPort, result });
    };
    // connect(2) binds the local port right after this event, before any answer can come.
    socket.once('connectionAttempt', () => queueMicrotask(() => (localPort ??= socket.localPort)));
    socket.once('connect', () => finish('connected'));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNREFUSED' ? 'refused' : `error ${err.code}`));
  });
}

function sendOne(bytes: number): Promise<{ localPort: number | undefined }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port }, () => {
      const localPort = socket.localPort;
      socket.end(Buffer.alloc(bytes, 0x61));
      socket.resume(); // read until the server closes
      socket.once('close', () => resolve({ localPort }));
    });
    socket.once('error', reject);
  });
}

switch (command) {
  case 'server': {
    const server = createServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.resume();
      socket.once('end', () => socket.end());
    });
    server.listen(port, host, () => {
      const address = server.address();
      print({ pid: process.pid, port: typeof address === 'object' && address ? address.port : port });
    });
    break;
  }
  case 'send': {
    const bytes = Number(rest[0] ?? 0);
    const conns = Number(rest[1] ?? 1);
    const localPorts: (number | undefined)[] = [];
    for (let i = 0; i < conns; i++) localPorts.push((await sendOne(bytes)).localPort);
    print({ pid: process.pid, localPorts, bytes });
    break;
  }
  case 'connect': {
    const count = Number(rest[0] ?? 1);
    const timeoutMs = Number(rest[1] ?? 1000);
    const results = [];
    for (let i = 0; i < count; i++) results.push(await attempt(timeoutMs));
    print({ pid: process.pid, results });
    break;
  }
  default:
    process.stderr.write(`tcp-peer: unknown command ${command}\n`);
    process.exit(2);
}
