import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseKeyValues } from '../../src/host/read.ts';
import { parseBlkioRw, parseIoStat } from './cgroup-stats.ts';
import { cgroupPattern } from './config.ts';
import { parseDiskstats, parseLoadavg, parseMeminfo, parseMounts, parseNetDev, parsePidStat, parseProcStat, parseUptime } from './procfs.ts';

describe('/proc parsers', () => {
  it('/proc/stat: CPU times in ticks, per CPU, boot time', () => {
    const s = parseProcStat(`cpu  167701 0 27043 143894 561 0 1317 20 5 0
cpu0 83850 0 13521 71947 280 0 658 10 5 0
cpu1 83851 0 13522 71947 281 0 659 10 0 0
intr 1234 0 0
ctxt 5678
btime 1764212345
processes 20000
procs_running 3
procs_blocked 0
`);
    assert.deepEqual(s.total, { user: 167701, nice: 0, system: 27043, idle: 143894, iowait: 561, irq: 0, softirq: 1317, steal: 20 });
    assert.equal(s.perCpu.size, 2);
    assert.equal(s.perCpu.get(1)!.user, 83851);
    assert.equal(s.bootTimeSeconds, 1764212345);
  });

  it('/proc/loadavg, /proc/uptime', () => {
    assert.deepEqual(parseLoadavg('0.52 1.07 3.50 2/512 12345\n'), [0.52, 1.07, 3.5]);
    assert.equal(parseUptime('1711.79 3100.52\n'), 1711.79);
  });

  it('/proc/meminfo in bytes; HugePages_ counts are not kB', () => {
    const m = parseMeminfo(`MemTotal:       24684092 kB
MemFree:        15078944 kB
MemAvailable:   23001656 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`);
    assert.equal(m.get('MemTotal'), 24684092 * 1024);
    assert.equal(m.get('MemAvailable'), 23001656 * 1024);
    assert.equal(m.get('HugePages_Total'), 0);
    assert.equal(m.get('Hugepagesize'), 2048 * 1024);
  });

  it('/proc/diskstats, with and without discard and flush fields', () => {
    const d = parseDiskstats(` 254       0 vda 68300 18681 2534425 14152 57765 229566 17789656 110332 0 22008 124484 0 0 0 0 0 0
   8       1 sda1 10 2 30 4 50 6 70 8 0 9 10
`);
    assert.equal(d.length, 2);
    assert.deepEqual(d[0], {
      major: 254, minor: 0, name: 'vda', readsCompleted: 68300, readsMerged: 18681, sectorsRead: 2534425, msReading: 14152,
      writesCompleted: 57765, writesMerged: 229566, sectorsWritten: 17789656, msWriting: 110332, inProgress: 0, msDoingIo: 22008, weightedMs: 124484,
    });
    assert.equal(d[1]!.name, 'sda1');
    assert.equal(d[1]!.weightedMs, 10);
  });

  it('/proc/net/dev', () => {
    const n = parseNetDev(`Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 393894583   60914    0    0    0     0          0         0 393894583   60914    0    0    0     0       0          0
  eth0:1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0
`);
    assert.equal(n.length, 2);
    assert.deepEqual(n[1], { name: 'eth0', rxBytes: 1000, rxPackets: 10, rxErrors: 1, rxDropped: 2, txBytes: 2000, txPackets: 20, txErrors: 3, txDropped: 4 });
  });

  it('/proc/PID/mounts with escaped names', () => {
    const m = parseMounts('/dev/vda / ext4 rw,relatime 0 0\n/dev/sdb1 /mnt/my\\040disk xfs ro,noatime 0 0\n');
    assert.deepEqual(m[1], { device: '/dev/sdb1', mountPoint: '/mnt/my disk', type: 'xfs', options: ['ro', 'noatime'] });
  });

  it('/proc/PID/stat with spaces and parentheses in the command name', () => {
    const s = parsePidStat('4242 (my (weird) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 7 0 123456 1650061312 23043 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n')!;
    assert.equal(s.pid, 4242);
    assert.equal(s.comm, 'my (weird) cmd');
    assert.equal(s.state, 'S');
    assert.equal(s.ppid, 1);
    assert.equal(s.utime, 250);
    assert.equal(s.stime, 75);
    assert.equal(s.numThreads, 7);
    assert.equal(s.startTime, 123456);
    assert.equal(s.vsizeBytes, 1650061312);
    assert.equal(s.rssPages, 23043);
    assert.equal(parsePidStat('garbage'), undefined);
  });

  it('parses this machine\'s files without losing a field', () => {
    const stat = parseProcStat(readFileSync('/proc/stat', 'utf8'));
    assert.ok(stat.perCpu.size >= 1 && stat.bootTimeSeconds > 1e9);
    assert.ok(parseMeminfo(readFileSync('/proc/meminfo', 'utf8')).get('MemTotal')! > 0);
    assert.ok(parseNetDev(readFileSync('/proc/net/dev', 'utf8')).some((n) => n.name === 'lo'));
    const self = parsePidStat(readFileSync('/proc/self/stat', 'utf8'))!;
    assert.equal(self.pid, process.pid);
    assert.ok(parseMounts(readFileSync('/proc/self/mounts', 'utf8')).some((m) => m.mountPoint === '/'));
    const io = parseKeyValues(readFileSync('/proc/self/io', 'utf8'));
    assert.ok(io.has('read_bytes') && io.has('write_bytes'));
  });
});

describe('cgroup file parsers', () => {
  it('key value files: cpu.stat, memory.stat, /proc/PID/io', () => {
    const kv = parseKeyValues('usage_usec 1053039221\nuser_usec 901840989\nnr_periods 5\n');
    assert.equal(kv.get('usage_usec'), 1053039221);
    assert.equal(kv.get('nr_periods'), 5);
    assert.equal(parseKeyValues('rchar: 6976\nread_bytes: 4096\n').get('read_bytes'), 4096);
  });

  it('io.stat', () => {
    const io = parseIoStat('254:0 rbytes=4096 wbytes=1048576 rios=1 wios=16 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n');
    assert.deepEqual(io.get('254:0'), { readBytes: 4096, writeBytes: 1048576, reads: 1, writes: 16 });
    assert.deepEqual(io.get('8:16'), { readBytes: 1, writeBytes: 2, reads: 3, writes: 4 });
  });

  it('blkio Read/Write lines, other lines ignored', () => {
    const b = parseBlkioRw('254:0 Read 4096\n254:0 Write 1048576\n254:0 Sync 1048576\n254:0 Async 4096\n254:0 Discard 0\n254:0 Total 1052672\nTotal 1052672\n');
    assert.deepEqual([...b], [['254:0', { read: 4096, write: 1048576 }]]);
    assert.equal(parseBlkioRw('Total 0\n').size, 0);
  });

  it('cgroup path patterns', () => {
    const re = cgroupPattern('/system.slice/*.service');
    assert.ok(re.test('/system.slice/nginx.service'));
    assert.ok(!re.test('/system.slice/a/b.service'));
    assert.ok(!re.test('/system.slice/nginx.socket'));
    const deep = cgroupPattern('/bpfcol-test-1/**');
    assert.ok(deep.test('/bpfcol-test-1/a') && deep.test('/bpfcol-test-1/a/b'));
    assert.ok(!deep.test('/bpfcol-test-12/a'));
    assert.ok(cgroupPattern('/a?c').test('/abc') && !cgroupPattern('/a?c').test('/a/c'));
  });
});
