//! wasm-bindgen exports; see the crate docs for signatures and options.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::{Action, Jingle, Reason, ReasonCondition, Role, SdpType, ToSdp, TrickleCandidate};

fn get(opts: &JsValue, key: &str) -> Option<String> {
    if !opts.is_object() {
        return None;
    }
    Reflect::get(opts, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
}

fn err(msg: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&msg.to_string()).into()
}

fn role(opts: &JsValue, key: &str) -> Result<Option<Role>, JsValue> {
    match get(opts, key).as_deref() {
        None => Ok(None),
        Some("initiator") => Ok(Some(Role::Initiator)),
        Some("responder") => Ok(Some(Role::Responder)),
        Some(o) => Err(err(format!("invalid option {key}: '{o}'"))),
    }
}

/// The envelope that the options describe (no session yet).
fn envelope(opts: &JsValue) -> Result<Jingle, JsValue> {
    let action = match get(opts, "action") {
        Some(a) => Action::from_token(&a).ok_or_else(|| err(format!("unknown action '{a}'")))?,
        None => Action::SessionInitiate,
    };
    let mut j = Jingle::new(action, get(opts, "sid").unwrap_or_default());
    j.initiator = get(opts, "initiator");
    j.responder = get(opts, "responder");
    j.sdp_from = role(opts, "from")?;
    j.creator = role(opts, "creator")?.unwrap_or(Role::Initiator);
    if let Some(r) = get(opts, "reason") {
        let condition =
            ReasonCondition::from_token(&r).ok_or_else(|| err(format!("unknown reason '{r}'")))?;
        j.reason = Some(Reason {
            condition,
            text: get(opts, "reasonText"),
        });
    }
    Ok(j)
}

/// `sdpToJingle(sdp, {action, sid, initiator, responder, from, creator, reason, reasonText})`
#[wasm_bindgen(js_name = sdpToJingle)]
pub fn sdp_to_jingle(sdp: &str, options: JsValue) -> Result<String, JsValue> {
    crate::sdp_to_jingle(sdp, envelope(&options)?).map_err(err)
}

/// `jingleToSdp(xml, {type, from})`
#[wasm_bindgen(js_name = jingleToSdp)]
pub fn jingle_to_sdp(xml: &str, options: JsValue) -> Result<String, JsValue> {
    let sdp_type = match get(&options, "type").as_deref() {
        None | Some("offer") => SdpType::Offer,
        Some("answer") => SdpType::Answer,
        Some(o) => return Err(err(format!("invalid option type: '{o}'"))),
    };
    let o = ToSdp {
        sdp_type,
        from: role(&options, "from")?,
    };
    crate::jingle_to_sdp(xml, &o).map_err(err)
}

/// `candidateToTransportInfo(candidate, {sid, initiator, responder, mid, ufrag, creator})`
#[wasm_bindgen(js_name = candidateToTransportInfo)]
pub fn candidate_to_transport_info(candidate: &str, options: JsValue) -> Result<String, JsValue> {
    let mid = get(&options, "mid").unwrap_or_default();
    let ufrag = get(&options, "ufrag");
    crate::candidate_to_transport_info(candidate, &mid, ufrag.as_deref(), envelope(&options)?)
        .map_err(err)
}

fn trickle_to_js(c: &TrickleCandidate) -> Result<JsValue, JsValue> {
    let o = Object::new();
    Reflect::set(&o, &"mid".into(), &c.mid.as_str().into())?;
    Reflect::set(&o, &"candidate".into(), &c.candidate.as_str().into())?;
    if let Some(u) = &c.ufrag {
        Reflect::set(&o, &"ufrag".into(), &u.as_str().into())?;
    }
    Reflect::set(
        &o,
        &"endOfCandidates".into(),
        &JsValue::from_bool(c.end_of_candidates),
    )?;
    Ok(o.into())
}

/// `transportInfoToCandidates(xml) -> [{mid, candidate, ufrag?, endOfCandidates}]`
#[wasm_bindgen(js_name = transportInfoToCandidates)]
pub fn transport_info_to_candidates(xml: &str) -> Result<Array, JsValue> {
    let list = crate::transport_info_to_candidates(xml).map_err(err)?;
    let arr = Array::new();
    for c in &list {
        arr.push(&trickle_to_js(c)?);
    }
    Ok(arr)
}

/// Uses about `stack_kib` KiB of the module's stack and aborts there (a `RuntimeError` in
/// JS), as a panic deep inside a translation would: the module is built with
/// `panic = "abort"`, and an instance that trapped is left with its stack pointer where the
/// trap happened. For the tests of `web/sdp-map.js`, which must replace such an instance.
#[wasm_bindgen(js_name = abortForTests)]
pub fn abort_for_tests(stack_kib: u32) {
    fn deeper(n: u32) -> u8 {
        let frame = std::hint::black_box([n as u8; 1024]);
        if n == 0 {
            std::process::abort();
        }
        frame[1].wrapping_add(deeper(n - 1))
    }
    std::hint::black_box(deeper(stack_kib));
}
