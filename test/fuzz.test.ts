/** Property-based fuzzing of everything a hostile bucket or file reaches (fixed runs). */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { PROPERTIES } from './fuzz-targets.js';

describe('fuzzing: only typed errors, no hangs', () => {
  for (const [name, prop] of Object.entries(PROPERTIES)) {
    it(name, async () => {
      await fc.assert(prop as fc.IAsyncProperty<[Uint8Array]>, { numRuns: 300, seed: 20261121, interruptAfterTimeLimit: 30_000 });
    });
  }
});
