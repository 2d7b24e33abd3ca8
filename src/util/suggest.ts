// "Did you mean ...?" for mistyped names (CLI options and commands, training-config keys).

/**
 * Edit distance counting an insertion, a deletion, a substitution or a swap of two neighbouring
 * characters as one edit (optimal string alignment), so the common typo "bacth" is 1 from "batch".
 */
export function editDistance(a: string, b: string): number {
  // Three rolling rows: the swap looks two rows back.
  let prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length]!;
}

/**
 * The choice nearest to `word` by editDistance, if it is at most 2 edits away and fewer edits than
 * `word` has characters (so a short word is not "corrected" into an unrelated one). Ties go to the
 * earlier choice; an exact match returns itself.
 */
export function closest(word: string, choices: string[]): string | undefined {
  const limit = Math.min(2, word.length - 1);
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of choices) {
    const d = editDistance(word, c);
    if (d <= limit && d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}
