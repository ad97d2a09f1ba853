// Checks that a page's RTCPeerConnection really receives media, from getStats().

/** The demo page's current call. */
export const demoCallPc = () => window.demo.call?.pc;

/**
 * Waits until the peer connection that `pick` finds in the page (a function evaluated in the
 * page) shows video frames decoded and audio samples received, both rising. Resolves to
 * {first, last} counts; rejects after `deadline` ms.
 */
export function mediaFlows(page, pick = demoCallPc, deadline = 15000) {
  // The page's Content-Security-Policy forbids eval: the picker travels as source in the
  // evaluated expression itself.
  return page.evaluate(`(${flows})(${JSON.stringify(deadline)}, ${pick})`);
}

async function flows(deadline, getPc) {
  const read = async () => {
    const out = { frames: 0, samples: 0 };
    const pc = getPc();
    if (!pc) return out;
    for (const s of (await pc.getStats()).values()) {
      if (s.type !== 'inbound-rtp') continue;
      if (s.kind === 'video') out.frames += s.framesDecoded ?? 0;
      if (s.kind === 'audio') out.samples += s.totalSamplesReceived ?? 0;
    }
    return out;
  };
  const end = Date.now() + deadline;
  let first = null;
  let last = null;
  while (Date.now() < end) {
    last = await read();
    if (!first && last.frames > 0 && last.samples > 0) first = last;
    else if (first && last.frames > first.frames && last.samples > first.samples) {
      return { first, last };
    }
    // Poll the stats until the deadline (the browser has no "frame decoded" event).
    await new Promise((r) => { setTimeout(r, 50); });
  }
  throw new Error(`media not flowing within ${deadline} ms: ${JSON.stringify({ first, last })}`);
}

/**
 * Waits until the peer connection `pick` finds decodes no new video frame for 1 s (the peer
 * stopped sending); resolves to the frame count. Rejects if frames still arrive after 10 s.
 */
export function videoStops(page, pick = demoCallPc) {
  return page.evaluate(`(${stops})(${pick})`);
}

async function stops(getPc) {
  const read = async () => {
    let frames = 0;
    for (const s of (await getPc().getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
    }
    return frames;
  };
  const end = Date.now() + 10000;
  let last = await read();
  let since = Date.now();
  while (Date.now() < end) {
    // Stats have no "frame decoded" event: poll them.
    await new Promise((r) => { setTimeout(r, 100); });
    const now = await read();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= 1000) {
      return now;
    }
  }
  throw new Error('video frames still arriving after 10 s');
}
