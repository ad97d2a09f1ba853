// A rejected m-line (port 0) travels without ICE/DTLS parameters (issue 11.5): the browser
// that made the offer must still take the translated answer. Shared by the Chromium and
// Firefox wasm tests.

/**
 * Runs in the page (`page.evaluate(rejectedAnswerRoundTrip)`, with `window.sdpMap` loaded):
 * negotiates audio and video between two local peer connections, stops the video, and hands
 * the offerer the answer that rejects it after a trip through Jingle.
 * @returns {Promise<{xml, sdp, video} | {error}>}
 */
export async function rejectedAnswerRoundTrip() {
  const offerer = new RTCPeerConnection();
  const answerer = new RTCPeerConnection();
  try {
    offerer.addTransceiver('audio');
    const video = offerer.addTransceiver('video');
    const negotiate = async () => {
      await offerer.setLocalDescription(await offerer.createOffer());
      await answerer.setRemoteDescription(offerer.localDescription);
      await answerer.setLocalDescription(await answerer.createAnswer());
    };
    await negotiate();
    await offerer.setRemoteDescription(answerer.localDescription);
    video.stop(); // the next offer and answer reject the video m-line
    await negotiate();
    const xml = window.sdpMap.sdpToJingle(answerer.localDescription.sdp, {
      action: 'session-accept', sid: 's1', responder: 'juliet@example.net/b' });
    const sdp = window.sdpMap.jingleToSdp(xml, { type: 'answer' });
    await offerer.setRemoteDescription({ type: 'answer', sdp });
    return { xml, sdp, video: video.currentDirection };
  } catch (e) {
    return { error: `${e.name}: ${e.message}` };
  } finally {
    offerer.close();
    answerer.close();
  }
}
