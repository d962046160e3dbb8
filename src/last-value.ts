// A memo of one entry: the last key and what it gave. Peers repeat
// themselves (the same Host, the same Connection list, the same Content-Type,
// the same upstream address from the same rule), so the last answer is the
// next one more often than not, and keeping it costs two variables where a
// table would need a bound. `compute` must give the same value for the same
// key; a throw keeps nothing.

export function lastValue<K, V>(compute: (key: K) => V): (key: K) => V {
  let filled = false;
  let lastKey: K;
  let last: V;
  return (key) => {
    if (filled && key === lastKey) return last;
    last = compute(key);
    lastKey = key;
    filled = true;
    return last;
  };
}
