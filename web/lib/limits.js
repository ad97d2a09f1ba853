// Limits on what a peer can make us do or hold: a sliding-window rate limit per key (a JID, a
// session), bounded in memory whatever the number of keys.
//
//   const rings = new RateLimit({ count: 5, perMs: 60000 });
//   if (!rings.allow('mallory@example.org')) return;   // over: ignore it

/** At most `count` events per key within any `perMs` window. */
export class RateLimit {
  #count;
  #perMs;
  #maxKeys;
  #now;
  /** key -> timestamps (ms) of the events within the window, oldest first. */
  #seen = new Map();

  /**
   * @param {object} opts
   * @param {number} opts.count events allowed per window
   * @param {number} [opts.perMs=60000] the window
   * @param {number} [opts.maxKeys=1000] keys remembered; beyond, the oldest key is forgotten
   * @param {() => number} [opts.now] the clock (ms)
   */
  constructor({ count, perMs = 60000, maxKeys = 1000, now = () => Date.now() }) {
    this.#count = count;
    this.#perMs = perMs;
    this.#maxKeys = maxKeys;
    this.#now = now;
  }

  /**
   * Counts an event of `key`; false if it is over the limit (then it is not counted).
   * `count`: the limit for this call, if it changes at run time.
   */
  allow(key, count = this.#count) {
    const now = this.#now();
    const times = (this.#seen.get(key) ?? []).filter((t) => now - t < this.#perMs);
    if (times.length >= count) {
      this.#seen.set(key, times);
      return false;
    }
    times.push(now);
    this.#seen.delete(key); // re-inserted last: the Map's order is least recently used first
    this.#seen.set(key, times);
    while (this.#seen.size > this.#maxKeys) this.#seen.delete(this.#seen.keys().next().value);
    return true;
  }
}
