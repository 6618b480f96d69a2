/* The verification rules on hand-made ledgers: each rule has a restore that breaks it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ledger, sha256 } from '../../runbooks/lib/ledger.ts';
import { checkObjective } from '../../runbooks/lib/objectives.ts';
import { verifyRestore, type RestoredRow } from '../../runbooks/lib/verify.ts';

const T0 = Date.parse('2025-01-01T00:00:00Z');

/** Ten DMs one second apart, each acknowledged 50 ms after the server wrote it. */
function ledger(): Ledger {
  const l = new Ledger();
  for (let n = 1; n <= 10; n++)
    l.record({ stream: 'dm', n, sha256: sha256(`m${n}`), serverAtMs: T0 + n * 1000, ackedAtMs: T0 + n * 1000 + 50 });
  return l;
}
const row = (n: number, text = `m${n}`): RestoredRow => ({
  stream: 'dm',
  n,
  sha256: sha256(text),
  serverAtMs: T0 + n * 1000,
});
const rows = (through: number) => Array.from({ length: through }, (_, i) => row(i + 1));

describe('restore verification', () => {
  it('accepts a prefix: the writes after the recovery point are counted as lost, and make the RPO', () => {
    const v = verifyRestore(ledger(), rows(7));
    assert.equal(v.ok, true, v.failures.join('\n'));
    assert.deepEqual(v.streams[0]!.lostBeyondRecoveryPoint, { count: 3, from: 8, to: 10 });
    assert.equal(v.rpoSeconds, 3);
    assert.equal(v.recoveryPoint, new Date(T0 + 7000).toISOString());
  });

  it('rejects a restore that misses a write acknowledged before the recovery point', () => {
    const v = verifyRestore(
      ledger(),
      rows(7).filter((r) => r.n !== 4),
    );
    assert.equal(v.ok, false);
    assert.match(v.failures.join('\n'), /acknowledged writes before the recovery point are missing: dm 4/);
  });

  it('rejects a restored write whose contents differ from what was acknowledged', () => {
    const v = verifyRestore(ledger(), [...rows(4), row(5, 'tampered')]);
    assert.match(v.failures.join('\n'), /1 restored writes differ from what was acknowledged: dm 5/);
    assert.notEqual(v.streams[0]!.ledgerChecksum, v.streams[0]!.restoredChecksum);
  });

  it('rejects writes from after the target time', () => {
    const v = verifyRestore(ledger(), rows(6), { targetTimeMs: T0 + 5500 });
    assert.match(v.failures.join('\n'), /writes after the target time .* are present: dm 6/);
  });

  it('rejects a restore that holds none of the drill writes', () => {
    assert.match(verifyRestore(ledger(), []).failures.join('\n'), /holds none of the drill writes/);
  });

  it('names a missed objective with the measured and the objective figure', () => {
    assert.equal(checkObjective('RTO', 1, 12.34).message, 'RTO objective missed: measured 12.3 s, objective 1 s');
    assert.equal(checkObjective('RPO', 60, 5).met, true);
  });
});
