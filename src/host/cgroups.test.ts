import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CgroupIdIndex,
  cgroupHierarchies,
  cgroupIdOf,
  cgroupMode,
  containerFromCgroupPath,
  describeProcessCgroup,
  findCgroupHierarchies,
  parseMountinfo,
  parseProcCgroup,
  podFromCgroupPath,
  primaryCgroupPath,
  readProcessCgroups,
  unescapeMountField,
  walkCgroups,
} from './cgroups.ts';

const ID = 'a3c2d1e0f9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2';
const ID2 = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const UID = '5f1c6a1e-2b3d-4c5e-8f9a-0b1c2d3e4f5a';
const UID_ = UID.replaceAll('-', '_');

// Mount tables as real hosts write them.
const UNIFIED_MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
// systemd's hybrid layout (Debian 10, Ubuntu 20.04) and this repository's CI machine.
const HYBRID_MOUNTINFO = `25 23 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:6 - cgroup cgroup rw,xattr,name=systemd
31 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
32 25 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
33 25 0:30 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,blkio
34 25 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids
35 25 0:32 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpuset,clone_children
`;
// v1 only (CentOS 7 style, no v2 mount), with a bind mount of a sub-tree into a container path.
const LEGACY_MOUNTINFO = `40 39 0:35 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 39 0:36 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpuacct,cpu
42 39 0:37 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
43 39 0:36 /kubepods /var/lib/x/cpu rw,relatime - cgroup cgroup rw,cpuacct,cpu
44 39 0:38 / /sys/fs/cgroup/name\\040with\\040space rw,relatime - cgroup cgroup rw,pids
`;

describe('cgroup mounts', () => {
  it('finds the v2 mount of a unified host', () => {
    const h = parseMountinfo(UNIFIED_MOUNTINFO);
    assert.equal(h.unified, '/sys/fs/cgroup');
    assert.equal(h.v1.size, 0);
    assert.equal(cgroupMode(h), 'unified');
  });

  it('finds every v1 controller and the v2 mount of a hybrid host', () => {
    const h = parseMountinfo(HYBRID_MOUNTINFO);
    assert.equal(h.unified, '/sys/fs/cgroup/unified');
    assert.equal(h.v1.get('cpu'), '/sys/fs/cgroup/cpu,cpuacct');
    assert.equal(h.v1.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
    assert.equal(h.v1.get('memory'), '/sys/fs/cgroup/memory');
    assert.equal(h.v1.get('blkio'), '/sys/fs/cgroup/blkio');
    assert.equal(h.v1.get('pids'), '/sys/fs/cgroup/pids');
    assert.equal(h.v1.get('cpuset'), '/sys/fs/cgroup/cpuset');
    assert.equal(h.v1.get('name=systemd'), '/sys/fs/cgroup/systemd');
    assert.ok(!h.v1.has('rw') && !h.v1.has('xattr') && !h.v1.has('clone_children'));
    assert.equal(cgroupMode(h), 'hybrid');
  });

  it('keeps the mount of a hierarchy root over a bind mount of a sub-tree, and unescapes names', () => {
    const h = parseMountinfo(LEGACY_MOUNTINFO);
    assert.equal(h.unified, undefined);
    assert.equal(h.v1.get('cpu'), '/sys/fs/cgroup/cpu,cpuacct');
    assert.equal(h.v1.get('pids'), '/sys/fs/cgroup/name with space');
    assert.equal(cgroupMode(h), 'legacy');
    assert.equal(unescapeMountField('a\\011b\\134c'), 'a\tb\\c');
  });

  it('prefers mounts below a host root when asked (a host file system under /hostfs)', () => {
    const text = `${UNIFIED_MOUNTINFO}50 30 0:26 / /hostfs/sys/fs/cgroup rw - cgroup2 cgroup2 rw\n`;
    assert.equal(parseMountinfo(text).unified, '/sys/fs/cgroup');
    assert.equal(parseMountinfo(text, '/hostfs').unified, '/hostfs/sys/fs/cgroup');
  });

  it('reads this machine\'s mounts', () => {
    const h = findCgroupHierarchies();
    assert.notEqual(cgroupMode(h), 'none', 'no cgroup hierarchy is mounted on this machine');
    if (h.unified) assert.ok(statSync(h.unified).isDirectory());
    for (const dir of h.v1.values()) assert.ok(statSync(dir).isDirectory());
  });
});

describe('/proc/PID/cgroup', () => {
  it('parses v2, v1 with combined controllers, named hierarchies, and paths holding colons', () => {
    const c = parseProcCgroup(`12:pids:/kubepods/pod${UID}/${ID}
4:cpu,cpuacct:/kubepods/pod${UID}/${ID}
1:name=systemd:/system.slice/containerd.service
0::/system.slice/weird:name.scope
`);
    assert.equal(c.unified, '/system.slice/weird:name.scope');
    assert.equal(c.v1.get('cpu'), `/kubepods/pod${UID}/${ID}`);
    assert.equal(c.v1.get('cpuacct'), `/kubepods/pod${UID}/${ID}`);
    assert.equal(c.v1.get('name=systemd'), '/system.slice/containerd.service');
  });

  it('names a process by its v2 path, or by a v1 path when the v2 one is the root', () => {
    assert.equal(primaryCgroupPath(parseProcCgroup(`0::/kubepods.slice/x.scope\n`)), '/kubepods.slice/x.scope');
    assert.equal(primaryCgroupPath(parseProcCgroup(`4:memory:/docker/${ID}\n0::/\n`)), `/docker/${ID}`);
    assert.equal(primaryCgroupPath(parseProcCgroup(`0::/\n`)), '/');
  });

  it('describes a live process: path, v2 id, no container for a test runner', () => {
    const h = findCgroupHierarchies();
    const index = h.unified ? new CgroupIdIndex(h.unified) : undefined;
    const info = describeProcessCgroup(process.pid, index)!;
    assert.equal(info.path, primaryCgroupPath(readProcessCgroups(process.pid)!));
    if (index) assert.equal(info.id, index.idOf(readProcessCgroups(process.pid)!.unified!));
    assert.equal(describeProcessCgroup(2 ** 22 + 1, index), undefined);
  });

  it('reads a live process, and nothing for a process that is gone', () => {
    const c = readProcessCgroups(process.pid);
    assert.ok(c && (c.unified !== undefined || c.v1.size > 0));
    assert.equal(readProcessCgroups(2 ** 22 + 1), undefined);
  });
});

describe('container ids from cgroup paths', () => {
  const cases: [string, string, { id: string; runtime?: string; path: string } | undefined][] = [
    ['containerd, systemd driver, v2', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { id: ID, runtime: 'containerd', path: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope` }],
    ['containerd, cgroupfs driver (v1 or v2)', `/kubepods/besteffort/pod${UID}/${ID}`, { id: ID, path: `/kubepods/besteffort/pod${UID}/${ID}` }],
    ['containerd, cgroupfs driver, guaranteed pod', `/kubepods/pod${UID}/${ID}`, { id: ID, path: `/kubepods/pod${UID}/${ID}` }],
    ['CRI-O, systemd driver', `/kubepods.slice/kubepods-pod${UID_}.slice/crio-${ID}.scope`,
      { id: ID, runtime: 'cri-o', path: `/kubepods.slice/kubepods-pod${UID_}.slice/crio-${ID}.scope` }],
    ['CRI-O, cgroupfs driver', `/kubepods/burstable/pod${UID}/crio-${ID}`, { id: ID, runtime: 'cri-o', path: `/kubepods/burstable/pod${UID}/crio-${ID}` }],
    ['CRI-O conmon is not a container', `/kubepods.slice/kubepods-pod${UID_}.slice/crio-conmon-${ID}.scope`, undefined],
    ['Docker, systemd driver', `/system.slice/docker-${ID}.scope`, { id: ID, runtime: 'docker', path: `/system.slice/docker-${ID}.scope` }],
    ['Docker, cgroupfs driver', `/docker/${ID}`, { id: ID, runtime: 'docker', path: `/docker/${ID}` }],
    ['Docker, systemd inside the container', `/system.slice/docker-${ID}.scope/init.scope`, { id: ID, runtime: 'docker', path: `/system.slice/docker-${ID}.scope` }],
    ['Podman', `/machine.slice/libpod-${ID}.scope/container`, { id: ID, runtime: 'podman', path: `/machine.slice/libpod-${ID}.scope` }],
    ['kind: a pod container inside a Docker node container', `/docker/${ID2}/kubepods/besteffort/pod${UID}/${ID}`,
      { id: ID, path: `/docker/${ID2}/kubepods/besteffort/pod${UID}/${ID}` }],
    ['a pod cgroup names no container', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice`, undefined],
    ['a systemd service names no container', '/system.slice/nginx.service', undefined],
    ['the root', '/', undefined],
    ['63 hex digits are not an id', `/docker/${ID.slice(1)}`, undefined],
    ['upper-case hex is not an id', `/docker/${ID.toUpperCase()}`, undefined],
  ];
  for (const [name, path, want] of cases) {
    it(name, () => assert.deepEqual(containerFromCgroupPath(path), want));
  }
});

describe('pod uids from cgroup paths', () => {
  const cases: [string, string, { uid: string; path: string; qosClass: string } | undefined][] = [
    ['systemd driver, burstable', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { uid: UID, path: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`, qosClass: 'burstable' }],
    ['systemd driver, besteffort pod cgroup itself', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice`,
      { uid: UID, path: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice`, qosClass: 'besteffort' }],
    ['systemd driver, guaranteed', `/kubepods.slice/kubepods-pod${UID_}.slice/crio-${ID}.scope`,
      { uid: UID, path: `/kubepods.slice/kubepods-pod${UID_}.slice`, qosClass: 'guaranteed' }],
    ['cgroupfs driver, burstable', `/kubepods/burstable/pod${UID}/${ID}`, { uid: UID, path: `/kubepods/burstable/pod${UID}`, qosClass: 'burstable' }],
    ['cgroupfs driver, guaranteed', `/kubepods/pod${UID}/${ID}`, { uid: UID, path: `/kubepods/pod${UID}`, qosClass: 'guaranteed' }],
    ['static pod (32 hex digit uid)', '/kubepods/burstable/pod8d6c1c9c0e3a2cc4b3e5a1b7a5e3ee4b/' + ID,
      { uid: '8d6c1c9c0e3a2cc4b3e5a1b7a5e3ee4b', path: '/kubepods/burstable/pod8d6c1c9c0e3a2cc4b3e5a1b7a5e3ee4b', qosClass: 'burstable' }],
    ['kind: inside a node container', `/docker/${ID2}/kubepods/besteffort/pod${UID}/${ID}`,
      { uid: UID, path: `/docker/${ID2}/kubepods/besteffort/pod${UID}`, qosClass: 'besteffort' }],
    ['a pod-like name outside kubepods is not a pod', `/system.slice/pod${UID}`, undefined],
    ['no pod', `/docker/${ID}`, undefined],
  ];
  for (const [name, path, want] of cases) {
    it(name, () => assert.deepEqual(podFromCgroupPath(path), want));
  }
});

describe('cgroup ids', () => {
  it('an id is the directory inode; the index maps both ways and notices removal and re-creation', () => {
    const root = mkdtempSync(join(tmpdir(), 'bpfcol-cgroup-index-'));
    try {
      mkdirSync(join(root, 'a/b/c'), { recursive: true });
      mkdirSync(join(root, 'd'));
      const idC = statSync(join(root, 'a/b/c'), { bigint: true }).ino;
      assert.equal(cgroupIdOf(join(root, 'a/b/c')), idC);
      assert.equal(cgroupIdOf(join(root, 'nope')), undefined);

      const index = new CgroupIdIndex(root, { minRebuildMs: 0 });
      assert.equal(index.pathOf(idC), '/a/b/c');
      assert.equal(index.size, 5); // / a a/b a/b/c d
      assert.equal(index.idOf('/d'), statSync(join(root, 'd'), { bigint: true }).ino);
      assert.equal(index.pathOf(statSync(root, { bigint: true }).ino), '/');

      rmdirSync(join(root, 'a/b/c'));
      mkdirSync(join(root, 'a/b/c2'));
      assert.equal(index.pathOf(idC) === '/a/b/c', false, 'a removed cgroup must not resolve to its old path');
      assert.equal(index.pathOf(statSync(join(root, 'a/b/c2'), { bigint: true }).ino), '/a/b/c2');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('rebuilds at most once per minRebuildMs for unknown ids', () => {
    const root = mkdtempSync(join(tmpdir(), 'bpfcol-cgroup-index-'));
    try {
      const index = new CgroupIdIndex(root, { minRebuildMs: 60_000 });
      assert.equal(index.pathOf(1n), undefined); // first miss walks
      mkdirSync(join(root, 'late'));
      const late = statSync(join(root, 'late'), { bigint: true }).ino;
      assert.equal(index.pathOf(late), undefined, 'a second miss within minRebuildMs must not walk again');
      index.rebuild();
      assert.equal(index.pathOf(late), '/late');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('walks depth first and prunes where asked', () => {
    const root = mkdtempSync(join(tmpdir(), 'bpfcol-cgroup-walk-'));
    try {
      for (const d of ['x/y/z', 'x/w', 'v']) mkdirSync(join(root, d), { recursive: true });
      const seen: string[] = [];
      walkCgroups(root, (p) => {
        seen.push(p);
        return p !== '/x/y';
      });
      assert.deepEqual(seen.sort(), ['/', '/v', '/x', '/x/w', '/x/y']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('this process\'s v2 cgroup id is the inode of its v2 directory', () => {
    const h = findCgroupHierarchies();
    if (!h.unified) throw new Error('this machine mounts no cgroup v2 hierarchy: eBPF cgroup ids cannot be resolved');
    const mine = readProcessCgroups(process.pid)!;
    const index = new CgroupIdIndex(h.unified);
    const id = index.idOf(mine.unified!);
    assert.ok(id !== undefined && id > 0n);
    assert.equal(index.pathOf(id), mine.unified);
    assert.deepEqual(cgroupHierarchies(h.unified).unifiedControllers, h.unifiedControllers);
  });
});
