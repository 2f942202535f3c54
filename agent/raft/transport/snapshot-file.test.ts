import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NomadError } from '../../core/lib/index.js';
import { decodeSnapshotFile, encodeSnapshotFile } from './snapshot-file.js';

const image = new TextEncoder().encode('{"format":"nomadts-state","version":1,"index":42,"jobs":[]}');
const file = encodeSnapshotFile(image);

function refusal(bytes: Uint8Array): string {
  try {
    decodeSnapshotFile(bytes, 'backup.snap');
  } catch (err) {
    expect(err).toBeInstanceOf(NomadError);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('the snapshot file', () => {
  it('round-trips: a header line with the size and SHA-256, then the image', () => {
    const text = file.toString('utf8');
    expect(text.split('\n')[0]).toMatch(/^\{"format":"nomadts-snapshot","version":1,"size":\d+,"sha256":"[0-9a-f]{64}"\}$/);
    const got = decodeSnapshotFile(file, 'backup.snap');
    expect(got.size).toBe(image.length);
    expect(Buffer.from(got.image).equals(Buffer.from(image))).toBe(true);
  });

  it('refuses an empty, truncated, padded, altered or foreign file, naming the file and the fault', () => {
    expect(refusal(new Uint8Array(0))).toBe('backup.snap: the file is empty (not a nomadts state file)');
    expect(refusal(file.subarray(0, file.length - 5))).toMatch(/^backup\.snap: truncated: the header promises \d+ bytes of state, the file holds \d+$/);
    expect(refusal(Buffer.concat([file, Buffer.from('xx')]))).toMatch(/^backup\.snap: corrupt: 2 bytes follow the \d+ bytes of state the header promises$/);
    const flipped = Buffer.from(file);
    flipped[flipped.length - 3]! ^= 0x01;
    expect(refusal(flipped)).toMatch(/^backup\.snap: checksum mismatch: the header says SHA-256 [0-9a-f]{64}, the state hashes to [0-9a-f]{64} \(the file is corrupt\)$/);
    expect(refusal(Buffer.from('job "web" {\n  group "g" {}\n}\n'))).toMatch(/^backup\.snap: not a nomadts state file \(the first line is not a "nomadts-snapshot" header\)$/);
    expect(refusal(Buffer.from('{"format":"tar"}\nabc'))).toBe('backup.snap: not a nomadts state file (format "tar", expected "nomadts-snapshot")');
    expect(refusal(Buffer.from(file.toString('utf8').replace('"version":1', '"version":2')))).toMatch(/unsupported snapshot file version 2 \(this build reads version 1\)/);
    expect(refusal(Buffer.from(file.toString('utf8').replace(/"size":\d+/, '"size":-1')))).toMatch(/corrupt header: size -1 is not a byte count/);
    expect(refusal(Buffer.from(file.toString('utf8').replace(/"sha256":"[0-9a-f]+"/, '"sha256":"nope"')))).toMatch(/corrupt header: sha256 is not a SHA-256 in hex/);
    expect(refusal(Buffer.from(file.toString('utf8').replace('{"format"', '{"index":3,"format"')))).toMatch(/corrupt header: unexpected fields \(index\)/);
    expect(refusal(image)).toMatch(/a bare state image without the snapshot header and checksum/);
    expect(refusal(Buffer.alloc(10_000, 0x41))).toMatch(/not a nomadts state file \(no "nomadts-snapshot" header line\)/);
  });

  it('never accepts a file with any one byte changed or any tail cut off', () => {
    fc.assert(fc.property(fc.nat(file.length - 1), fc.integer({ min: 1, max: 255 }), fc.boolean(), (at, xor, cut) => {
      const bad = cut ? file.subarray(0, at) : Buffer.from(file);
      if (!cut) bad[at]! ^= xor;
      expect(() => decodeSnapshotFile(bad, 'f')).toThrow(/^f: /);
    }), { numRuns: 2000 });
  });
});
