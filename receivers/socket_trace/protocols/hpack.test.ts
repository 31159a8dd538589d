// HPACK decoding: RFC 7541 Appendix C's examples, decoding without knowing the table's past, and
// garbage (a fuzz loop: only ParseError may come out).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS, HpackDecoder, huffmanDecode } from './hpack.ts';
import { randomBytes } from './testing.ts';
import { ParseError } from './types.ts';

const hx = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const pairs = (d: { fields: { name: string | undefined; value: string | undefined }[] }) => d.fields.map((f) => [f.name, f.value]);
const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';

describe('HPACK (RFC 7541)', () => {
  it('C.1: multi-byte integers (1337 as an index)', () => {
    // 1337 with a 7-bit prefix: 0xff, then 1210 in 7-bit groups: 0xba 0x09
    const d = new HpackDecoder(false);
    const r = d.decode(hx('ffba09'));
    assert.equal(r.unresolved, 1, 'index 1337 is a dynamic entry bpfcol never saw');
    assert.throws(() => new HpackDecoder(true).decode(hx('ffba09')), ParseError);
  });

  it('C.2: literal fields (with, without, never indexed) and an indexed one', () => {
    const d = new HpackDecoder(true);
    assert.deepEqual(pairs(d.decode(hx('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))), [['custom-key', 'custom-header']]);
    assert.equal(d.known, 1);
    const d2 = new HpackDecoder(true);
    assert.deepEqual(pairs(d2.decode(hx('040c 2f73 616d 706c 652f 7061 7468'))), [[':path', '/sample/path']]);
    assert.equal(d2.known, 0);
    assert.deepEqual(pairs(d2.decode(hx('1008 7061 7373 776f 7264 0673 6563 7265 74'))), [['password', 'secret']]);
    assert.equal(d2.known, 0);
    assert.deepEqual(pairs(d2.decode(hx('82'))), [[':method', 'GET']]);
  });

  const requests = (blocks: string[]) => {
    const d = new HpackDecoder(true);
    const out = blocks.map((b) => pairs(d.decode(hx(b))));
    assert.deepEqual(out, [
      [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
      [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
      [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
    ]);
    assert.equal(d.known, 3);
  };

  it('C.3: requests without Huffman coding', () => {
    requests(['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65']);
  });

  it('C.4: requests with Huffman coding', () => {
    requests(['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf']);
  });

  const responses = (blocks: string[]) => {
    const d = new HpackDecoder(true, { maxSize: 256 });
    const out = blocks.map((b) => pairs(d.decode(hx(b))));
    const loc = ['location', 'https://www.example.com'];
    assert.deepEqual(out, [
      [[':status', '302'], ['cache-control', 'private'], ['date', DATE1], loc],
      [[':status', '307'], ['cache-control', 'private'], ['date', DATE1], loc],
      [[':status', '200'], ['cache-control', 'private'], ['date', DATE2], loc, ['content-encoding', 'gzip'], ['set-cookie', COOKIE]],
    ]);
    assert.equal(d.known, 3, 'C.5.3 evicted down to set-cookie, content-encoding, date');
  };

  it('C.5: responses without Huffman coding, evicting from a 256-byte table', () => {
    responses([
      '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '4803 3330 37c1 c0bf',
      '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
    ]);
  });

  it('C.6: responses with Huffman coding, evicting from a 256-byte table', () => {
    responses([
      '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
      '4883 640e ffc1 c0bf',
      '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
    ]);
  });

  it('Huffman: every symbol round-trips; EOS and bad padding are errors', () => {
    const bits: number[] = [];
    for (let s = 0; s < 256; s++) for (let i = HUFFMAN_LENGTHS[s]! - 1; i >= 0; i--) bits.push(Math.floor(HUFFMAN_CODES[s]! / 2 ** i) & 1);
    while (bits.length % 8) bits.push(1);
    const enc = Buffer.alloc(bits.length / 8);
    for (let i = 0; i < bits.length; i++) enc[i >> 3]! |= bits[i]! << (7 - (i & 7));
    assert.equal(huffmanDecode(enc, 0, enc.length), String.fromCharCode(...Array.from({ length: 256 }, (_, s) => s)));
    // spot checks against RFC 7541 Appendix B
    assert.equal(HUFFMAN_CODES[48], 0x0);
    assert.equal(HUFFMAN_CODES[32], 0x14);
    assert.equal(HUFFMAN_CODES[0], 0x1ff8);
    assert.equal(HUFFMAN_CODES[255], 0x3ffffee);
    assert.equal(HUFFMAN_CODES[256], 0x3fffffff);
    assert.throws(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4), ParseError, 'EOS');
    assert.throws(() => huffmanDecode(Buffer.from([0x00]), 0, 1), ParseError, "'0' then 3 zero bits of padding");
    assert.throws(() => huffmanDecode(Buffer.from([0x07, 0xff]), 0, 2), ParseError, "'0' then 11 one bits");
  });
});

describe('HPACK without the table\'s past', () => {
  it('resolves static and literal fields and entries inserted since; never what came before', () => {
    // a decoder started at C.3.2: the :authority entry C.3.1 inserted is unknown
    const d = new HpackDecoder(false);
    const r2 = d.decode(hx('8286 84be 5808 6e6f 2d63 6163 6865'));
    assert.equal(r2.unresolved, 1);
    assert.deepEqual(pairs(r2), [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [undefined, undefined], ['cache-control', 'no-cache']]);
    // C.3.3 references 0xbf (index 63: the :authority entry, now second) — unknown — and inserts custom-key
    const r3 = d.decode(hx('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'));
    assert.equal(r3.unresolved, 1);
    // index 62 is custom-key, 63 cache-control (both known): they resolve
    const r4 = d.decode(hx('be bf'));
    assert.equal(r4.unresolved, 0);
    assert.deepEqual(pairs(r4), [['custom-key', 'custom-value'], ['cache-control', 'no-cache']]);
    // index 64 (the :authority entry) stays unknown
    assert.equal(d.decode(hx('c0')).unresolved, 1);
  });

  it('a literal with an unknown indexed name inserts a placeholder that keeps later indexes right', () => {
    const d = new HpackDecoder(false);
    // 0x7f 0x03 = literal with incremental indexing, name index 66 (unknown), value "abc"
    const r = d.decode(hx('7f03 0361 6263'));
    assert.deepEqual(pairs(r), [[undefined, 'abc']]);
    assert.equal(r.unresolved, 1);
    d.decode(hx('4003 7a7a 7a01 31')); // zzz: 1
    assert.deepEqual(pairs(d.decode(hx('be'))), [['zzz', '1']]);
    assert.equal(d.decode(hx('bf')).unresolved, 1, 'the placeholder');
  });

  it('a table size update to 0 makes the table known', () => {
    const d = new HpackDecoder(false);
    d.decode(hx('20'));
    assert.equal(d.complete, true);
    d.decode(hx('3fe11f')); // back to 4096
    assert.equal(d.maxSize, 4096);
    assert.throws(() => d.decode(hx('be')), ParseError, 'nothing inserted: index 62 is beyond the table');
  });

  it('credential values are kept as empty markers in the table', () => {
    const d = new HpackDecoder(true, { redact: (n) => n === 'authorization' });
    const r = d.decode(Buffer.concat([hx('5706'), Buffer.from('secret')])); // authorization (static 23), incremental
    assert.deepEqual(pairs(r), [['authorization', '']]);
    assert.deepEqual(pairs(d.decode(hx('be'))), [['authorization', '']]);
  });

  it('malformed blocks throw ParseError and leave the table unknown', () => {
    for (const b of ['80', 'ff', '3fe1', '0f', '4005 6162', '8220']) {
      const d = new HpackDecoder(true);
      assert.throws(() => d.decode(hx(b)), ParseError, b);
      assert.equal(d.complete, false);
      assert.equal(d.known, 0);
    }
  });

  it('fuzz: 150,000 random and mutated blocks, only ParseError escapes', () => {
    const rnd = randomBytes(0x5eed);
    const samples = [
      '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
      '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
      '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970',
      '3fe11f 8286 84',
    ].map(hx);
    let decoded = 0;
    let errors = 0;
    const decoders = [new HpackDecoder(true), new HpackDecoder(false)];
    for (let i = 0; i < 150_000; i++) {
      const r = rnd(8);
      let input: Buffer;
      if (r[0]! < 64) input = rnd(r[1]! % 64);
      else {
        const base = samples[r[1]! % samples.length]!;
        input = Buffer.from(base);
        const op = r[2]! % 4;
        if (op === 0) input = input.subarray(0, r[3]! % (input.length + 1));
        else if (op === 1) for (let k = 0; k <= r[3]! % 4; k++) input[r[4 + k]! % input.length]! ^= 1 << (r[5]! % 8);
        else if (op === 2) input = Buffer.concat([input.subarray(0, r[3]! % input.length), samples[r[4]! % samples.length]!.subarray(r[5]! % 8)]);
        else input = Buffer.concat([input, rnd(r[3]! % 16)]);
      }
      const d = decoders[i & 1]!;
      try {
        d.decode(input);
        decoded++;
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
        errors++;
      }
      if (i % 1000 === 0) decoders[i & 1] = new HpackDecoder(i % 2000 === 0);
    }
    assert.ok(decoded > 10_000 && errors > 10_000, `${decoded} decoded, ${errors} refused`);
  });
});
