// The informers against an API server speaking the real list/watch protocol: list then watch
// from the list's resourceVersion, bookmarks, reconnects, 410 Gone both ways, errors with backoff.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { captureLogger, recordingTelemetry } from '../../test/support/component-harness.ts';
import { tempDir } from '../../test/support/cli.ts';
import { FakeKubeApiServer, fixture, writeKubeconfig } from '../../test/support/kube-apiserver.ts';
import { Resources } from './kube/client.ts';
import { Informer } from './kube/informer.ts';
import { type PodInfo, slimPod } from './kube/objects.ts';
import { PodStore } from './store.ts';

const dir = tempDir('bpfcol-k8s-informer-');
after(() => dir.cleanup());

function pod(name: string, uid: string, ip: string, node = 'node-a') {
  return fixture('pod-deployment', { metadata: { name, uid }, spec: { nodeName: node }, status: { podIP: ip, podIPs: [{ ip }] } });
}

async function setup(options: { token?: string; kubeToken?: string; retryMs?: number } = {}) {
  const server = await FakeKubeApiServer.start(options.token ? { token: options.token } : {});
  const kc = new KubeConfig();
  kc.loadFromFile(writeKubeconfig(dir.path, server, options.kubeToken ? { token: options.kubeToken } : {}));
  const store = new PodStore({ graceMs: 0 });
  const telemetry = recordingTelemetry();
  const { logger, lines } = captureLogger('debug');
  const spec = new Resources(kc).pods({ nodeName: 'node-a' });
  const informer = new Informer<PodInfo>({
    ...spec,
    kubeConfig: kc,
    slim: slimPod,
    upsert: (p) => store.upsert(p),
    remove: (p) => {
      store.remove(p);
      store.sweep();
    },
    retry: { initialMs: options.retryMs ?? 50, maxMs: 400 },
    logger,
    telemetry: { lists: telemetry.counter('lists', ''), events: telemetry.counter('events', ''), errors: telemetry.counter('errors', '') },
  });
  return { server, informer, store, telemetry, lines };
}

describe('k8s_metadata informers: the list/watch protocol', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup();
    s.server.apply('pods', pod('a', 'uid-a', '10.244.0.1'));
    s.server.apply('pods', pod('elsewhere', 'uid-x', '10.244.1.1', 'node-b'));
  });
  after(async () => {
    await s.informer.stop();
    await s.server.stop();
  });

  it('lists this node\'s pods, then watches from the list\'s resourceVersion with bookmarks asked for', async () => {
    s.informer.start();
    await s.informer.synced;
    await s.server.until(() => s.server.openWatches('pods') === 1);
    const [list, watch] = s.server.requests;
    assert.deepEqual([list!.watch, list!.query.fieldSelector], [false, 'spec.nodeName=node-a']);
    assert.deepEqual([watch!.watch, watch!.query.resourceVersion, watch!.query.allowWatchBookmarks, watch!.query.fieldSelector], [true, String(s.server.resourceVersion), 'true', 'spec.nodeName=node-a']);
    assert.equal(s.store.byUid('uid-a')?.name, 'a');
    assert.equal(s.store.byUid('uid-x'), undefined, 'pods of other nodes are not listed');
  });

  it('applies ADDED, MODIFIED and DELETED events as they come', async () => {
    s.server.apply('pods', pod('b', 'uid-b', '10.244.0.2'));
    await s.server.until(() => s.store.byUid('uid-b') !== undefined);
    s.server.apply('pods', pod('b', 'uid-b', '10.244.0.22'));
    await s.server.until(() => s.store.byAddress('10.244.0.22')?.uid === 'uid-b');
    assert.equal(s.store.byAddress('10.244.0.2'), undefined, 'the old IP no longer resolves');
    s.server.delete('pods', 'shop', 'b');
    await s.server.until(() => s.store.byUid('uid-b') === undefined);
  });

  it('a bookmark moves the resourceVersion on, so a reconnect resumes from it without a relist', async () => {
    const lists = s.server.count('pods', false);
    s.server.apply('nodes', fixture('node')); // activity elsewhere: pods' resourceVersion falls behind
    assert.equal(s.server.bookmark('pods'), 1);
    const rv = String(s.server.resourceVersion);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.server.closeWatches('pods'), 1);
    await s.server.until(() => s.server.openWatches('pods') === 1);
    assert.equal(s.server.requests.at(-1)!.query.resourceVersion, rv);
    assert.equal(s.server.count('pods', false), lists, 'no relist');
    assert.ok((s.telemetry.counters.get('events') ?? 0) >= 4);
  });

  it('410 Gone as an ERROR event: relists, and a pod deleted meanwhile disappears while a new one appears', async () => {
    const lists = s.server.count('pods', false);
    s.server.compact();
    // Changes the watch will never see: made while the watch is being expired.
    s.server.expireWatches('pods');
    s.server.delete('pods', 'shop', 'a');
    s.server.apply('pods', pod('c', 'uid-c', '10.244.0.3'));
    s.server.compact();
    await s.server.until(() => s.server.count('pods', false) === lists + 1 && s.server.openWatches('pods') === 1);
    await s.server.until(() => s.store.byUid('uid-c') !== undefined && s.store.byUid('uid-a') === undefined);
    assert.equal(s.server.requests.at(-1)!.query.resourceVersion, String(s.server.resourceVersion));
  });

  it('410 Gone as an HTTP answer with a Status: relists too', async () => {
    s.server.goneMode = 'http';
    const lists = s.server.count('pods', false);
    s.server.apply('nodes', fixture('node', { metadata: { name: 'node-z' } }));
    s.server.compact();
    s.server.closeWatches('pods'); // reconnects from an old resourceVersion: 410
    await s.server.until(() => s.server.count('pods', true, 410) === 1);
    await s.server.until(() => s.server.count('pods', false) === lists + 1 && s.server.openWatches('pods') === 1);
    s.server.goneMode = 'event';
  });

  it('a failing watch is retried after a backoff from the last resourceVersion, without a relist; a warning is logged once', async () => {
    const lists = s.server.count('pods', false);
    s.server.failNext('pods', 2, 500);
    s.server.closeWatches('pods');
    await s.server.until(() => s.server.count('pods', true, 500) === 2 && s.server.openWatches('pods') === 1);
    assert.equal(s.server.count('pods', false), lists);
    assert.equal(s.telemetry.counters.get('errors'), 2);
    assert.equal(s.lines.filter((l) => l.includes('kubernetes list/watch failed; retrying')).length, 1);
    // Still current: an event after recovery arrives.
    s.server.apply('pods', pod('d', 'uid-d', '10.244.0.4'));
    await s.server.until(() => s.store.byUid('uid-d') !== undefined);
  });
});

describe('k8s_metadata informers: errors', () => {
  it('a failing first list is retried with backoff until it succeeds', async () => {
    const s = await setup();
    try {
      s.server.apply('pods', pod('a', 'uid-a', '10.244.0.1'));
      s.server.failNext('pods', 3, 503);
      s.informer.start();
      await s.informer.synced;
      assert.equal(s.server.count('pods', false, 503), 3);
      assert.equal(s.store.byUid('uid-a')?.name, 'a');
      assert.equal(s.telemetry.counters.get('errors'), 3);
      assert.equal(s.telemetry.counters.get('lists'), 4);
    } finally {
      await s.informer.stop();
      await s.server.stop();
    }
  });

  it('a wrong token is refused (401), counted and retried, never crashing', async () => {
    const s = await setup({ token: 'right', kubeToken: 'wrong' });
    try {
      s.informer.start();
      await s.server.until(() => s.server.count('pods', false, 401) >= 3);
      assert.ok((s.telemetry.counters.get('errors') ?? 0) >= 2);
      assert.ok(s.lines.some((l) => l.includes('kubernetes list/watch failed; retrying') && l.includes('401')), s.lines.join('\n'));
    } finally {
      await s.informer.stop();
      await s.server.stop();
    }
  });

  it('the right token is sent as a bearer token', async () => {
    const s = await setup({ token: 'sekret', kubeToken: 'sekret' });
    try {
      s.server.apply('pods', pod('a', 'uid-a', '10.244.0.1'));
      s.informer.start();
      await s.informer.synced;
      assert.equal(s.store.byUid('uid-a')?.name, 'a');
    } finally {
      await s.informer.stop();
      await s.server.stop();
    }
  });
});

describe('k8s_metadata: in-cluster service account', () => {
  it('reads the service account token and CA, and lists over HTTPS with the bearer token', async () => {
    const { mkdirSync, writeFileSync, copyFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { selfSignedCert } = await import('../../test/support/tls-cert.ts');
    const { environment, SERVICE_ACCOUNT_DIR } = await import('./kube/client.ts');
    const cert = selfSignedCert(dir.path, 'apiserver');
    const server = await FakeKubeApiServer.start({ tls: { cert: cert.cert.toString(), key: cert.key.toString() }, token: 'sa-token' });
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    try {
      const root = join(dir.path, 'sa-root');
      mkdirSync(join(root, SERVICE_ACCOUNT_DIR), { recursive: true });
      writeFileSync(join(root, SERVICE_ACCOUNT_DIR, 'token'), 'sa-token');
      writeFileSync(join(root, SERVICE_ACCOUNT_DIR, 'namespace'), 'monitoring');
      copyFileSync(cert.certFile, join(root, SERVICE_ACCOUNT_DIR, 'ca.crt'));
      process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
      process.env.KUBERNETES_SERVICE_PORT = new URL(server.url).port;
      const env = environment('serviceAccount', { serviceAccountRoot: root });
      assert.equal(env.kind, 'kubernetes');
      server.apply('pods', pod('a', 'uid-a', '10.244.0.1'));
      const list = await new Resources((env as { kubeConfig: KubeConfig }).kubeConfig).pods({ nodeName: 'node-a' }).list();
      assert.deepEqual(list.items.map((p) => (p as { metadata: { name: string } }).metadata.name), ['a']);
      assert.equal(server.requests.at(-1)!.status, 200);
      // Without a token file: not in a pod after all.
      const none = environment('serviceAccount', { serviceAccountRoot: join(dir.path, 'nowhere') });
      assert.equal(none.kind, 'host');
    } finally {
      process.env.KUBERNETES_SERVICE_HOST = saved.host;
      process.env.KUBERNETES_SERVICE_PORT = saved.port;
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
      await server.stop();
    }
  });
});
