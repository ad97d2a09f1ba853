// Group calls (XEP-0521) on the demo page: the "Rooms" panel, lib/group-call.js, the focus and
// the bridge against a real ejabberd, in Chromium. Each page sends a picture of its own colour,
// so a tile labelled "Video of NAME" is checked to show NAME's colour.
// Run inside a loopback-only network namespace (see lib/browser.js).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openDemoPages, stopDemoPages, status } from './lib/demo-page.js';
import { connectClient, $iq, $pres } from './lib/xmpp-client.js';

let bed;
let browser;
let pages;

/** Each user's colour (RGB): what its camera shows. */
const COLOURS = {
  alice: [220, 40, 40],
  bob: [40, 180, 60],
  carol: [40, 80, 220],
  dave: [230, 200, 30],
};

before(async () => {
  ({ bed, browser, pages } = await openDemoPages({
    users: ['alice:alice-pw', 'bob:bob-pw', 'carol:carol-pw', 'dave:dave-pw'], focus: true,
  }));
});

afterEach(() => pages.closeAll());

after(async () => {
  await stopDemoPages({ bed, browser });
});

/**
 * A demo page logged in as `name` whose camera shows a plain picture of its colour (a canvas
 * at the size asked for; the microphone is Chromium's fake one).
 */
async function colouredPage(name) {
  const [r, g, b] = COLOURS[name];
  return pages.loggedIn(name, '/', async (page) => {
    await page.addInitScript(({ r, g, b }) => {
      const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = async (c) => {
        const out = new MediaStream();
        if (c.audio) for (const t of (await real({ audio: true })).getAudioTracks()) out.addTrack(t);
        if (c.video) {
          const canvas = document.createElement('canvas');
          canvas.width = c.video.width ?? 640;
          canvas.height = c.video.height ?? 480;
          const ctx = canvas.getContext('2d');
          let tick = 0;
          const paint = () => {
            ctx.fillStyle = `rgb(${r},${g},${b})`;
            ctx.fillRect(0, 0, canvas.width, canvas.height);
            // A small moving square keeps the encoder busy, as a real camera would.
            ctx.fillStyle = '#fff';
            ctx.fillRect((tick++ * 8) % canvas.width, 0, 16, 16);
          };
          paint();
          setInterval(paint, 33);
          for (const t of canvas.captureStream(30).getVideoTracks()) out.addTrack(t);
        }
        return out;
      };
    }, { r, g, b });
  });
}

/** The colour at the centre of the video labelled `label`, once it plays. */
function tileColour(page, label) {
  return page.evaluate(async (label) => {
    const video = document.querySelector(`video[aria-label="${label}"]`);
    const end = Date.now() + 15000;
    while (Date.now() < end && !(video.videoWidth > 0)) {
      // No "first frame" event on a <video> fed by WebRTC: wait on its size.
      await new Promise((r) => { setTimeout(r, 50); });
    }
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(video, 0, 0);
    return [...ctx.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data.slice(0, 3)];
  }, label);
}

/** Whose colour `rgb` is: the nearest of COLOURS (video coding shifts colours a little). */
function whose(rgb) {
  const distance = (c) => c.reduce((sum, v, i) => sum + (v - rgb[i]) ** 2, 0);
  return Object.entries(COLOURS).sort(([, a], [, b]) => distance(a) - distance(b))[0][0];
}

/** Waits until `page`'s tile labelled for `name` shows `name`'s picture; resolves to its colour. */
async function showsRightPerson(page, name) {
  await page.getByLabel(`Video of ${name}`).waitFor();
  const end = Date.now() + 15000;
  let got;
  while (Date.now() < end) {
    got = await tileColour(page, `Video of ${name}`);
    if (whose(got) === name) return got;
  }
  throw new Error(`the tile of ${name} shows ${got}, which is ${whose(got)}'s colour`);
}

async function joinRoom(page, room) {
  await page.getByRole('textbox', { name: 'Room', exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join call' }).click();
  await status(page, `In the call of ${room}@`).waitFor();
}

test('three demo pages in one room: each tile shows the right person', async () => {
  const names = ['alice', 'bob', 'carol'];
  const joined = {};
  for (const name of names) {
    joined[name] = await colouredPage(name);
    await joinRoom(joined[name], 'team');
  }
  for (const name of names) {
    for (const other of names.filter((n) => n !== name)) {
      const got = await showsRightPerson(joined[name], other);
      assert.equal(whose(got), other);
    }
    // Exactly the two others, no own media back.
    const labels = await joined[name].locator('video[aria-label^="Video of "]')
      .evaluateAll((vs) => vs.map((v) => v.getAttribute('aria-label')));
    assert.deepEqual(labels.sort(), names.filter((n) => n !== name).map((n) => `Video of ${n}`),
      `${name}'s tiles`);
  }
  // Audio arrives too.
  for (const name of names) {
    const samples = await joined[name].evaluate(async () => {
      let total = 0;
      const call = [...window.demo.jingle.groupCalls.values()][0];
      for (const p of call.participants.values()) {
        for (const s of (await p.session.pc.getStats()).values()) {
          if (s.type === 'inbound-rtp' && s.kind === 'audio') total += s.totalSamplesReceived ?? 0;
        }
      }
      return total;
    });
    assert.ok(samples > 0, `${name} receives audio`);
  }
  // bob leaves: his tile goes away from alice's and carol's grids.
  await joined.bob.getByRole('button', { name: 'Leave call' }).click();
  await status(joined.bob, 'You left the call').waitFor();
  for (const name of ['alice', 'carol']) {
    await joined[name].getByLabel('Video of bob').waitFor({ state: 'detached' });
  }
  assert.deepEqual(pages.errors, []);
});

/** The decoded height of `name`'s video on `page`, from getStats, once within [min, max]. */
function decodedHeight(page, name, { min = 1, max = 100000 }) {
  return page.evaluate(async ({ name, min, max }) => {
    const call = [...window.demo.jingle.groupCalls.values()][0];
    const end = Date.now() + 20000;
    let h = 0;
    while (Date.now() < end) {
      const p = [...call.participants.values()].find((x) => x.name === name);
      h = 0;
      for (const s of (await p?.session.pc.getStats())?.values() ?? []) {
        if (s.type === 'inbound-rtp' && s.kind === 'video') h = s.frameHeight ?? 0;
      }
      if (h >= min && h <= max) return h;
      // getStats has no "frame decoded" event: poll it.
      await new Promise((r) => { setTimeout(r, 100); });
    }
    throw new Error(`${name}'s video decodes at ${h} rows, not within [${min}, ${max}]`);
  }, { name, min, max });
}

/** The video layers a page sends now: rid -> {height, fps, limitation, bitrate}. */
function sentLayers(page) {
  return page.evaluate(async () => {
    const call = [...window.demo.jingle.groupCalls.values()][0];
    const out = {};
    for (const s of (await call.session.pc.getStats()).values()) {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out[s.rid ?? '-'] = { height: s.frameHeight ?? 0, fps: s.framesPerSecond ?? 0,
          limitation: s.qualityLimitationReason, bitrate: s.targetBitrate };
      }
    }
    return out;
  });
}

/** Waits until a page sends at least `n` video layers (each with frames); resolves to them. */
async function sendsLayers(page, n, deadline = 20000) {
  const end = Date.now() + deadline;
  let layers;
  while (Date.now() < end) {
    layers = await sentLayers(page);
    if (Object.values(layers).filter((l) => l.height > 0 && l.fps > 0).length >= n) return layers;
    // getStats has no "layer started" event: poll it.
    await new Promise((r) => { setTimeout(r, 200); });
  }
  throw new Error(`the browser never sent ${n} layers: ${JSON.stringify(layers)}`);
}

test('the speaker is marked and shown large in a higher layer; mute and camera off show', async () => {
  const names = ['alice', 'bob', 'carol'];
  const joined = {};
  for (const name of names) {
    joined[name] = await colouredPage(name);
    await joinRoom(joined[name], 'speakers');
  }
  // Only alice's microphone is open: she is the dominant speaker.
  for (const name of ['bob', 'carol']) await joined[name].getByRole('button', { name: 'Mute' }).click();
  for (const name of ['bob', 'carol']) {
    const tile = joined[name].getByRole('listitem').filter({ has: joined[name].getByLabel('Video of alice') });
    await tile.getByText('speaking', { exact: true }).waitFor({ timeout: 20000 });
  }
  // The muted ones show "muted" to the others.
  await joined.alice.getByRole('listitem').filter({ has: joined.alice.getByLabel('Video of bob') })
    .getByText('muted', { exact: true }).waitFor();
  // bob sees alice's large tile in a higher layer than carol's thumbnail, once alice's
  // browser sends more than its lowest layer (its bandwidth estimate has to ramp up first).
  const layers = await sendsLayers(joined.alice, 2);
  const thumb = await decodedHeight(joined.bob, 'carol', { max: 180 });
  const large = await decodedHeight(joined.bob, 'alice', { min: 2 * thumb }).catch(async (e) => {
    throw new Error(`${e.message}; alice sends ${JSON.stringify(await sentLayers(joined.alice))}`);
  });
  console.log(`# alice sends ${JSON.stringify(layers)}`);
  console.log(`# bob decodes carol's thumbnail at ${thumb} rows and alice (speaking) at ${large}`);
  // carol turns her camera off: the others see it; her tile stops getting frames.
  await joined.carol.getByRole('button', { name: 'Camera off' }).click();
  await joined.carol.getByRole('button', { name: 'Camera on' }).waitFor();
  await joined.alice.getByRole('listitem').filter({ has: joined.alice.getByLabel('Video of carol') })
    .getByText('camera off', { exact: true }).waitFor();
  const cameraTracks = await joined.carol.evaluate(() => [...window.demo.jingle.groupCalls.values()][0]
    .media.stream.getVideoTracks().filter((t) => t.readyState === 'live').length);
  assert.equal(cameraTracks, 0, 'the camera is released');
  await joined.carol.getByRole('button', { name: 'Camera on' }).click();
  await joined.carol.getByRole('button', { name: 'Camera off' }).waitFor();
  await showsRightPerson(joined.alice, 'carol');
  assert.deepEqual(pages.errors, []);
});

/**
 * `owner` (a node client) creates `room` on the MUC service and configures it with `fields`
 * (muc#roomconfig_* vars), staying in it so that it lives on. Resolves once configured.
 */
async function configuredRoom(owner, room, fields) {
  const mucJid = `${room}@conference.${bed.info.domain}`;
  const presence = owner.waitFor((p) => p.nodeName === 'presence'
    && [...p.getElementsByTagName('status')].some((s) => s.getAttribute('code') === '110'));
  owner.send($pres({ to: `${mucJid}/owner` }).c('x', { xmlns: 'http://jabber.org/protocol/muc' }));
  await presence;
  const form = $iq({ type: 'set', to: mucJid }).c('query', { xmlns: 'http://jabber.org/protocol/muc#owner' })
    .c('x', { xmlns: 'jabber:x:data', type: 'submit' })
    .c('field', { var: 'FORM_TYPE' }).c('value').t('http://jabber.org/protocol/muc#roomconfig').up().up();
  for (const [v, value] of Object.entries(fields)) form.c('field', { var: v }).c('value').t(value).up().up();
  await owner.sendIQ(form);
  return mucJid;
}

test('members-only and password-protected semi-anonymous rooms: who may not enter may not join', async () => {
  const { jid, password } = pages.user('dave');
  const owner = await connectClient({ websocket: bed.info.websocket, jid, password });
  try {
    const members = await configuredRoom(owner, 'members', {
      'muc#roomconfig_membersonly': '1', 'muc#roomconfig_whois': 'moderators',
    });
    // alice is a member; bob is not.
    await owner.sendIQ($iq({ type: 'set', to: members }).c('query', { xmlns: 'http://jabber.org/protocol/muc#admin' })
      .c('item', { affiliation: 'member', jid: pages.user('alice').jid }));
    const alice = await colouredPage('alice');
    const bob = await colouredPage('bob');
    await joinRoom(alice, 'members');
    await bob.getByRole('textbox', { name: 'Room', exact: true }).fill('members');
    await bob.getByRole('button', { name: 'Join call' }).click();
    await status(bob, 'the room is for members only').waitFor();
    // bob calls the focus directly, without the room: refused, and alice's call goes on.
    const refused = await bob.evaluate(async (focus) => {
      const { Strophe, $iq } = await import('strophe.js');
      const { conn } = window.demo;
      const xml = `<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='sneak' initiator='${conn.jid}'>`
        + "<content creator='initiator' name='0' senders='initiator'>"
        + "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='111' name='opus' clockrate='48000' channels='2'/></description>"
        + "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='abcd' pwd='abcdefghijklmnopqrstuv'>"
        + "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>"
        + '00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF'
        + '</fingerprint></transport></content></jingle>';
      return new Promise((resolve) => conn.sendIQ($iq({ type: 'set', to: focus })
        .cnode(Strophe.xmlHtmlNode(xml).documentElement), () => resolve('result'),
      (e) => resolve(e?.getElementsByTagName('error')[0]?.firstElementChild?.nodeName)));
    }, `members@${bed.info.focus}`);
    assert.equal(refused, 'forbidden');

    const locked = await configuredRoom(owner, 'locked', {
      'muc#roomconfig_passwordprotectedroom': '1', 'muc#roomconfig_roomsecret': 'open sesame',
    });
    assert.ok(locked.startsWith('locked@'));
    await alice.getByRole('button', { name: 'Leave call' }).click();
    // Without the password the room refuses; with it, alice and bob are in the call.
    await alice.getByRole('textbox', { name: 'Room', exact: true }).fill('locked');
    await alice.getByRole('button', { name: 'Join call' }).click();
    await status(alice, 'the room needs a password').waitFor();
    for (const page of [alice, bob]) {
      await page.getByLabel('Room password').fill('open sesame');
      await joinRoom(page, 'locked');
    }
    await showsRightPerson(alice, 'bob');
    await showsRightPerson(bob, 'alice');
    // The room is semi-anonymous: bob (not a moderator) sees no real JID of alice in it.
    const realJids = await bob.evaluate(() => [...window.demo.jingle.groupCalls.values()][0]
      .room.occupants.get('alice')?.jid ?? null);
    assert.equal(realJids, null);
  } finally {
    await owner.disconnect();
  }
  assert.deepEqual(pages.errors, []);
});
