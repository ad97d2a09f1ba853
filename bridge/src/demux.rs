//! Which endpoint a datagram on the shared port belongs to.
//!
//! A STUN binding request names the endpoint by the local half of its USERNAME
//! (`local-ufrag:remote-ufrag`, RFC 8445 §7.2.2); the bridge chose every local ufrag, so it
//! maps them. Everything else (DTLS, SRTP, SRTCP) is routed by the remote address that a
//! STUN request for that endpoint came from.

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
const ATTR_USERNAME: u16 = 0x0006;

/// Whether the datagram is STUN (RFC 7983 demultiplexing, then the magic cookie).
pub(crate) fn is_stun(data: &[u8]) -> bool {
    data.len() >= 20 && data[0] < 4 && data[4..8] == MAGIC_COOKIE
}

/// The local ufrag named by a STUN message's USERNAME attribute.
pub(crate) fn stun_local_ufrag(data: &[u8]) -> Option<&str> {
    if !is_stun(data) {
        return None;
    }
    let len = u16::from_be_bytes([data[2], data[3]]) as usize;
    let body = data.get(20..20 + len)?;
    let mut i = 0;
    while i + 4 <= body.len() {
        let typ = u16::from_be_bytes([body[i], body[i + 1]]);
        let alen = u16::from_be_bytes([body[i + 2], body[i + 3]]) as usize;
        let value = body.get(i + 4..i + 4 + alen)?;
        if typ == ATTR_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next();
        }
        i += 4 + alen.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (typ, value) in attrs {
            body.extend_from_slice(&typ.to_be_bytes());
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value);
            body.resize(body.len().div_ceil(4) * 4, 0);
        }
        let mut m = vec![0x00, 0x01];
        m.extend_from_slice(&(body.len() as u16).to_be_bytes());
        m.extend_from_slice(&MAGIC_COOKIE);
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn username_is_found_after_other_attributes() {
        let m = stun(&[(0x8029, &[1; 8]), (ATTR_USERNAME, b"bridgeufrag:peer")]);
        assert_eq!(stun_local_ufrag(&m), Some("bridgeufrag"));
        assert_eq!(stun_local_ufrag(&stun(&[(0x8029, &[1; 8])])), None);
    }

    #[test]
    fn garbage_is_not_stun() {
        assert_eq!(stun_local_ufrag(&[]), None);
        assert_eq!(stun_local_ufrag(&[0x80; 40]), None); // RTP
        let mut truncated = stun(&[(ATTR_USERNAME, b"a:b")]);
        truncated.truncate(24);
        assert_eq!(stun_local_ufrag(&truncated), None);
        let mut lying = stun(&[(ATTR_USERNAME, b"a:b")]);
        lying[22] = 0xff; // attribute length past the end
        assert_eq!(stun_local_ufrag(&lying), None);
    }
}
