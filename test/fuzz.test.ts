/**
 * Property-based fuzzing of everything a hostile bucket or file reaches (fixed runs).
 *
 * Every target must run all its cases: a run cut short by the time limit FAILS (with
 * fast-check's time limit alone it would pass silently with fewer cases). The limit is
 * per target; BUCKETLITE_FUZZ_TIME_LIMIT_MS overrides it (e.g. 1, to see the failure).
 * Structure-aware targets must also both accept and reject some mutated inputs, by
 * enough distinct checks (outcomeProblems in fuzz-targets.ts).
 */
import { describe, expect, it } from 'vitest';
import { fuzzTargets, runTarget, sharedOverflowFile, walkFile } from './fuzz-targets.js';

const SEED = 20261121;
const TIME_LIMIT_MS = Number(process.env.BUCKETLITE_FUZZ_TIME_LIMIT_MS ?? 30_000);

const targets = await fuzzTargets();

describe('fuzzing: only typed errors, no hangs', () => {
  for (const t of targets) {
    it(t.name, async () => {
      const r = await runTarget(t, t.runs, { seed: SEED, timeLimitMs: TIME_LIMIT_MS });
      if (t.outcomes) console.log(`${t.name}: ${r.numRuns} cases in ${r.seconds.toFixed(1)} s: ${t.outcomes.summary()}`);
      if (r.report) throw new Error(`${r.problems.join('; ')}\n${r.report}`, { cause: r.error });
      if (r.problems.length) throw new Error(`${t.name}: ${r.problems.join('; ')}`);
      expect(r.numRuns).toBe(t.runs);
    });
  }

  // Found while writing the structure-aware targets: each schema cell re-read a shared
  // overflow chain (50,520 page reads for this 300-page file; 1.87 M for 4,200 pages).
  it('a schema whose cells share one overflow chain reads it once, not once per cell', async () => {
    const { reads, pageCount } = await walkFile(sharedOverflowFile(300, 20), 512, null);
    expect(reads).toBeLessThanOrEqual(4 * pageCount);
  });
});
