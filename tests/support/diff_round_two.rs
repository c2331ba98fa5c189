//! Differential families, round two (issue 7): deep chains, restrictions that point at
//! restricted keyrings, revoke / unlink / clear / invalidate of anchors and intermediates
//! after links were made, possession (`EACCES` for keys the session no longer reaches),
//! restriction cycles, the same certificate added twice, and certificates with unusual
//! encodings (serials, long names, validity times at the edges, RSA sizes the kernel
//! parses but will not verify with).
//!
//! Every step's expected verdict is what Linux 6.18 answered when the family was written;
//! the test checks it against the live kernel again (through keyctl) and the model against
//! both. Steps never name a key after its last link is gone unless a restriction still
//! holds it: such a key dies one RCU grace period later, so the kernel's answer (EACCES or
//! ENOKEY) depends on timing.

use super::*;

impl Case {
    fn invalidate(&mut self, k: &str, ex: &str) -> &mut Self {
        self.step(format!("invalidate {k}"), ex)
    }
}

/// Chains of three to five certificates under every anchor form, with and without `:chain`.
pub(super) fn fam_deep_chains(x: &mut Ctx) {
    let root = x.root("dcroot", &x.k(2048, 0));
    let i1 = x.inter("dci1", &x.k(2048, 1), &root);
    let i2 = x.inter("dci2", &x.k(2048, 2), &i1);
    let i3 = x.inter("dci3", &x.k(2048, 3), &i2);
    let leaf = x.leaf("dcleaf", &x.k(2048, 4), &i3);
    for anchor in [Anchor::Key, Anchor::Ring, Anchor::Zero] {
        let mut c = Case::new("deep-chain", format!("depth5/{}/chain", anchor.label()));
        setup(&mut c, anchor, true, &[&root]);
        c.add("i1", "dest", &i1, "ok");
        c.add("i2", "dest", &i2, "ok");
        c.add("i3", "dest", &i3, "ok");
        c.add("leaf", "dest", &leaf, "ok");
        x.push(c);
        // Skipping a level leaves the next one without a signer.
        let mut c = Case::new("deep-chain", format!("gap/{}/chain", anchor.label()));
        setup(&mut c, anchor, true, &[&root]);
        c.add("i1", "dest", &i1, "ok");
        c.add("i3_early", "dest", &i3, "ENOKEY");
        c.add("leaf_early", "dest", &leaf, "ENOKEY");
        c.add("i2", "dest", &i2, "ok");
        c.add("i3", "dest", &i3, "ok");
        c.add("leaf", "dest", &leaf, "ok");
        x.push(c);
    }
    for anchor in [Anchor::Key, Anchor::Ring] {
        // Without :chain only certificates the anchor signed get in.
        let mut c = Case::new("deep-chain", format!("depth5/{}/plain", anchor.label()));
        setup(&mut c, anchor, false, &[&root]);
        c.add("i1", "dest", &i1, "ok");
        c.add("i2", "dest", &i2, "ENOKEY");
        c.add("leaf", "dest", &leaf, "ENOKEY");
        x.push(c);
    }
    // Intermediates kept in the anchor ring vouch without :chain.
    let mut c = Case::new("deep-chain", "intermediates-in-anchor/ring/plain");
    setup(&mut c, Anchor::Ring, false, &[&root]);
    c.load("i1", "anchor", &i1);
    c.load("i2", "anchor", &i2);
    c.add("i3", "dest", &i3, "ok");
    c.add("leaf", "dest", &leaf, "ENOKEY");
    x.push(c);
    // The anchor is an intermediate: the chain starts below the root.
    let mut c = Case::new("deep-chain", "anchor-is-intermediate/key/chain");
    c.newring("anchor");
    c.load("i2", "anchor", &i2);
    c.newring("dest");
    c.restrict("dest", "key_or_keyring:i2:chain", "ok");
    c.add("i1", "dest", &i1, "ENOKEY");
    c.add("i3", "dest", &i3, "ok");
    c.add("leaf", "dest", &leaf, "ok");
    x.push(c);
}

/// Keyrings whose restriction names another restricted keyring.
pub(super) fn fam_restricted_anchors(x: &mut Ctx) {
    let root = x.root("raroot", &x.k(2048, 0));
    let inter = x.inter("rainter", &x.k(2048, 1), &root);
    let leaf = x.leaf("raleaf", &x.k(2048, 2), &inter);
    let by_root = x.leaf("rabyroot", &x.k(2048, 3), &root);
    let below_leaf = x.leaf("rabelowleaf", &x.k(2048, 5), &leaf);
    let stranger = x.root("rastranger", &x.k(2048, 4));
    let sleaf = x.leaf("rasleaf", &x.k(2048, 6), &stranger);

    for chain in [false, true] {
        let (s, m) = if chain {
            (":chain", "chain")
        } else {
            ("", "plain")
        };
        // anchor (root) ← a (restricted to anchor) ← b (restricted to a)
        let mut c = Case::new("restricted-anchor", format!("two-levels/{m}"));
        setup(&mut c, Anchor::Ring, false, &[&root]);
        c.newring("b");
        c.restrict("b", &format!("key_or_keyring:dest{s}"), "ok");
        c.add("by_root_b", "b", &by_root, "ENOKEY");
        c.add("inter", "dest", &inter, "ok");
        c.add("leaf", "b", &leaf, "ok");
        c.add(
            "below_leaf",
            "b",
            &below_leaf,
            if chain { "ok" } else { "ENOKEY" },
        );
        c.add("sleaf", "b", &sleaf, "ENOKEY");
        x.push(c);
        // Three rings in a row, each restricted to the one before.
        let mut c = Case::new("restricted-anchor", format!("three-levels/{m}"));
        setup(&mut c, Anchor::Key, false, &[&root]);
        c.newring("mid");
        c.restrict("mid", &format!("key_or_keyring:dest{s}"), "ok");
        c.newring("top");
        c.restrict("top", &format!("key_or_keyring:mid{s}"), "ok");
        c.add("inter", "dest", &inter, "ok");
        c.add("leaf", "mid", &leaf, "ok");
        c.add("below_leaf", "top", &below_leaf, "ok");
        c.add("leaf_top", "top", &leaf, "ENOKEY");
        x.push(c);
    }
    // Restricted to a keyring that rejects everything: it can only be filled by linking
    // before the restriction, so the anchor stays what it was.
    let mut c = Case::new("restricted-anchor", "anchor-rejects-all");
    c.newring("anchor");
    c.load("root0", "anchor", &root);
    c.restrict("anchor", "reject", "ok");
    c.add("more", "anchor", &inter, "EPERM");
    c.newring("dest");
    c.restrict("dest", "key_or_keyring:anchor", "ok");
    c.add("by_root", "dest", &by_root, "ok");
    c.add("leaf", "dest", &leaf, "ENOKEY");
    x.push(c);
    // Linking a key from one restricted ring into another re-runs the second's gate.
    let mut c = Case::new("restricted-anchor", "link-across-gates");
    setup(&mut c, Anchor::Ring, true, &[&root]);
    c.add("inter", "dest", &inter, "ok");
    c.add("leaf", "dest", &leaf, "ok");
    c.newring("other");
    c.restrict("other", "key_or_keyring:root0", "ok");
    c.link("inter", "other", "ok");
    c.link("leaf", "other", "ENOKEY");
    c.link("root0", "other", "ok");
    x.push(c);
}

/// Revoke, unlink, clear and invalidate of anchors and intermediates after links were made,
/// and what the session may still do with keys it no longer reaches.
pub(super) fn fam_lifecycle(x: &mut Ctx) {
    let root = x.root("lcroot", &x.k(2048, 0));
    let inter = x.inter("lcinter", &x.k(2048, 1), &root);
    let leaf = x.leaf("lcleaf", &x.k(2048, 2), &root);
    let leaf2 = x.leaf("lcleaf", &x.k(2048, 3), &root);
    let ileaf = x.leaf("lcileaf", &x.k(2048, 4), &inter);
    let ileaf2 = x.leaf("lcileaf", &x.k(2048, 5), &inter);

    // --- a key anchor (key_or_keyring:root0) --------------------------------------------
    let mut c = Case::new("lifecycle", "key-anchor/revoke");
    setup(&mut c, Anchor::Key, false, &[&root]);
    c.add("leaf", "dest", &leaf, "ok");
    c.revoke("root0", "ok");
    c.revoke("root0", "EKEYREVOKED");
    c.invalidate("root0", "EKEYREVOKED");
    c.link("root0", "dest", "EKEYREVOKED");
    c.add("leaf2", "dest", &leaf2, "EKEYREVOKED");
    c.unlink("root0", "anchor", "ok");
    c.add("leaf2_again", "dest", &leaf2, "EKEYREVOKED");
    x.push(c);
    for how in ["unlink", "clear", "revoke-ring"] {
        // The restriction still holds the key: links keep working, but the session no
        // longer reaches it, so it can neither be revoked nor linked nor invalidated.
        let mut c = Case::new("lifecycle", format!("key-anchor/{how}-then-unpossessed"));
        setup(&mut c, Anchor::Key, false, &[&root]);
        c.add("leaf", "dest", &leaf, "ok");
        match how {
            "unlink" => c.unlink("root0", "anchor", "ok"),
            "clear" => c.clear("anchor", "ok"),
            _ => c.revoke("anchor", "ok"),
        };
        c.add("leaf2", "dest", &leaf2, "ok");
        c.revoke("root0", "EACCES");
        c.link("root0", "dest", "EACCES");
        c.invalidate("root0", "EACCES");
        c.unlink(
            "root0",
            "anchor",
            if how == "revoke-ring" {
                "EKEYREVOKED"
            } else {
                "ENOENT"
            },
        );
        c.unlink("root0", "dest", "ENOENT");
        c.newring("other");
        c.restrict("other", "key_or_keyring:root0", "ok");
        c.add("leaf_other", "other", &leaf, "ok");
        // The same certificate again is a new key the session holds.
        c.add("root_again", "dest", &root, "ok");
        c.revoke("root_again", "ok");
        c.add("leaf3", "dest", &leaf2, "ok");
        x.push(c);
    }
    let mut c = Case::new("lifecycle", "key-anchor/invalidate");
    setup(&mut c, Anchor::Key, false, &[&root]);
    c.add("leaf", "dest", &leaf, "ok");
    c.invalidate("root0", "ok");
    c.add("leaf2", "dest", &leaf2, "ENOKEY");
    c.revoke("root0", "ENOKEY");
    c.invalidate("root0", "ENOKEY");
    c.link("root0", "dest", "ENOKEY");
    x.push(c);

    // --- a keyring anchor (key_or_keyring:anchor) ----------------------------------------
    for how in ["revoke-key", "unlink", "clear", "invalidate-key"] {
        let mut c = Case::new("lifecycle", format!("ring-anchor/{how}"));
        setup(&mut c, Anchor::Ring, false, &[&root]);
        c.add("leaf", "dest", &leaf, "ok");
        match how {
            "revoke-key" => c.revoke("root0", "ok"),
            "unlink" => c.unlink("root0", "anchor", "ok"),
            "clear" => c.clear("anchor", "ok"),
            _ => c.invalidate("root0", "ok"),
        };
        c.add("leaf2", "dest", &leaf2, "ENOKEY");
        c.add("root_back", "anchor", &root, "ok");
        c.add("leaf3", "dest", &leaf2, "ok");
        x.push(c);
    }
    // Revoking the anchor ring empties it for good.
    let mut c = Case::new("lifecycle", "ring-anchor/revoke-ring");
    setup(&mut c, Anchor::Ring, false, &[&root]);
    c.add("leaf", "dest", &leaf, "ok");
    c.newring("pool");
    c.load("root_pool", "pool", &root);
    c.revoke("anchor", "ok");
    c.add("leaf2", "dest", &leaf2, "ENOKEY");
    c.add("again", "anchor", &root, "EKEYREVOKED");
    c.link("root_pool", "anchor", "EKEYREVOKED");
    c.clear("anchor", "EKEYREVOKED");
    c.restrict("anchor", "reject", "EKEYREVOKED");
    c.restrict("anchor", "nonsense", "EKEYREVOKED");
    c.revoke("anchor", "EKEYREVOKED");
    c.link("anchor", "pool", "EKEYREVOKED");
    c.revoke("leaf", "ok");
    x.push(c);
    // Invalidating the anchor ring: a restriction still holds it, but it finds nothing,
    // and its keys are no longer the session's.
    let mut c = Case::new("lifecycle", "ring-anchor/invalidate-ring");
    setup(&mut c, Anchor::Ring, false, &[&root]);
    c.add("leaf", "dest", &leaf, "ok");
    c.invalidate("anchor", "ok");
    c.add("leaf2", "dest", &leaf2, "ENOKEY");
    c.revoke("root0", "EACCES");
    c.link("root0", "dest", "EACCES");
    c.add("x", "anchor", &root, "ENOKEY");
    c.link("leaf", "anchor", "ENOKEY");
    c.invalidate("anchor", "ENOKEY");
    x.push(c);
    // The anchor ring nested in another: revoking the outer ring drops the nested link,
    // but the anchor itself still belongs to the session.
    let mut c = Case::new("lifecycle", "ring-anchor/revoke-outer");
    c.newring("outer");
    c.newring("anchor");
    c.load("root0", "anchor", &root);
    c.link("anchor", "outer", "ok");
    c.newring("dest");
    c.restrict("dest", "key_or_keyring:outer", "ok");
    c.add("leaf", "dest", &leaf, "ok");
    c.revoke("outer", "ok");
    c.add("leaf2", "dest", &leaf2, "ENOKEY");
    c.revoke("root0", "ok");
    x.push(c);

    // --- intermediates in a :chain ring -------------------------------------------------
    for how in ["revoke", "unlink", "invalidate"] {
        for anchor in [Anchor::Ring, Anchor::Zero] {
            let mut c = Case::new(
                "lifecycle",
                format!("chain-intermediate/{how}/{}", anchor.label()),
            );
            setup(&mut c, anchor, true, &[&root]);
            c.add("inter", "dest", &inter, "ok");
            c.add("ileaf", "dest", &ileaf, "ok");
            match how {
                "revoke" => c.revoke("inter", "ok"),
                "unlink" => c.unlink("inter", "dest", "ok"),
                _ => c.invalidate("inter", "ok"),
            };
            c.add("ileaf2", "dest", &ileaf2, "ENOKEY");
            // The leaf the intermediate admitted stays, and stays usable.
            c.revoke("ileaf", "ok");
            c.add("inter_again", "dest", &inter, "ok");
            c.add("ileaf2_again", "dest", &ileaf2, "ok");
            x.push(c);
        }
    }
    let mut c = Case::new("lifecycle", "chain/clear-dest");
    setup(&mut c, Anchor::Zero, true, &[&root]);
    c.add("inter", "dest", &inter, "ok");
    c.clear("dest", "ok");
    c.add("ileaf", "dest", &ileaf, "ENOKEY");
    c.add("leaf", "dest", &leaf, "ENOKEY");
    x.push(c);

    // --- a key linked into two keyrings ---------------------------------------------------
    let mut c = Case::new("lifecycle", "two-links/unlink-one");
    c.newring("a");
    c.newring("b");
    c.load("root0", "a", &root);
    c.link("root0", "b", "ok");
    c.unlink("root0", "a", "ok");
    c.newring("dest");
    c.restrict("dest", "key_or_keyring:b", "ok");
    c.add("leaf", "dest", &leaf, "ok");
    c.revoke("a", "ok");
    c.revoke("root0", "ok");
    c.add("leaf2", "dest", &leaf2, "ENOKEY");
    x.push(c);
    let mut c = Case::new("lifecycle", "two-links/invalidate");
    c.newring("a");
    c.newring("b");
    c.load("root0", "a", &root);
    c.link("root0", "b", "ok");
    c.newring("dest");
    c.restrict("dest", "key_or_keyring:b", "ok");
    c.invalidate("root0", "ok");
    c.add("leaf", "dest", &leaf, "ENOKEY");
    c.link("root0", "a", "ENOKEY");
    x.push(c);
}

/// Restriction cycles beyond two rings, and what a refused cycle leaves behind.
pub(super) fn fam_cycles_more(x: &mut Ctx) {
    let root = x.root("c2root", &x.k(2048, 0));
    let leaf = x.leaf("c2leaf", &x.k(2048, 1), &root);
    for chain in [false, true] {
        let (s, m) = if chain {
            (":chain", "chain")
        } else {
            ("", "plain")
        };
        let mut c = Case::new("cycle2", format!("four-rings/{m}"));
        for r in ["a", "b", "c", "d"] {
            c.newring(r);
        }
        c.restrict("a", &format!("key_or_keyring:b{s}"), "ok");
        c.restrict("b", &format!("key_or_keyring:c{s}"), "ok");
        c.restrict("c", &format!("key_or_keyring:d{s}"), "ok");
        c.restrict("d", &format!("key_or_keyring:a{s}"), "EDEADLK");
        c.restrict("d", &format!("key_or_keyring:b{s}"), "EDEADLK");
        c.restrict("d", &format!("key_or_keyring:c{s}"), "EDEADLK");
        c.restrict("d", &format!("key_or_keyring:d{s}"), "EDEADLK");
        c.load("root0", "d", &root);
        c.restrict("d", "key_or_keyring:root0", "ok");
        c.add("leaf_c", "c", &leaf, "ok");
        // b trusts c, which holds only the leaf, not its issuer.
        c.add("leaf_b", "b", &leaf, "ENOKEY");
        x.push(c);
        // A cycle closed through a revoked ring is still a cycle; a revoked ring cannot be
        // restricted at all.
        let mut c = Case::new("cycle2", format!("through-revoked/{m}"));
        c.newring("a");
        c.newring("b");
        c.restrict("a", &format!("key_or_keyring:b{s}"), "ok");
        c.revoke("a", "ok");
        c.restrict("b", &format!("key_or_keyring:a{s}"), "EDEADLK");
        c.restrict("a", &format!("key_or_keyring:b{s}"), "EKEYREVOKED");
        x.push(c);
    }
    // A ring restricted to a key that lives in the ring itself is no cycle.
    let mut c = Case::new("cycle2", "anchor-key-inside-dest");
    c.newring("dest");
    c.load("root0", "dest", &root);
    c.restrict("dest", "key_or_keyring:root0:chain", "ok");
    c.add("leaf", "dest", &leaf, "ok");
    c.newring("watch");
    c.restrict("watch", "key_or_keyring:dest", "ok");
    c.add("leaf_w", "watch", &leaf, "ok");
    x.push(c);
}

/// The same certificate added more than once.
pub(super) fn fam_same_cert(x: &mut Ctx) {
    let root = x.root("scroot", &x.k(2048, 0));
    let leaf = x.leaf("scleaf", &x.k(2048, 1), &root);
    // Twice into one ring: the second add makes a new key that displaces the first.
    let mut c = Case::new("same-cert", "twice-one-ring");
    c.newring("anchor");
    c.add("root_a", "anchor", &root, "ok");
    c.add("root_b", "anchor", &root, "ok");
    c.newring("dest");
    c.restrict("dest", "key_or_keyring:anchor", "ok");
    c.add("leaf", "dest", &leaf, "ok");
    c.revoke("root_b", "ok");
    c.add("leaf2", "dest", &leaf, "ENOKEY");
    x.push(c);
    // Into two rings: two keys, each revocable on its own.
    let mut c = Case::new("same-cert", "two-rings");
    c.newring("a");
    c.newring("b");
    c.add("root_a", "a", &root, "ok");
    c.add("root_b", "b", &root, "ok");
    c.newring("da");
    c.restrict("da", "key_or_keyring:a", "ok");
    c.newring("db");
    c.restrict("db", "key_or_keyring:b", "ok");
    c.revoke("root_a", "ok");
    c.add("leaf_a", "da", &leaf, "ENOKEY");
    c.add("leaf_b", "db", &leaf, "ok");
    c.link("root_b", "a", "ok");
    c.add("leaf_a2", "da", &leaf, "ok");
    x.push(c);
    // A restricted ring admits the same leaf again (a new key, same gate).
    let mut c = Case::new("same-cert", "twice-restricted");
    setup(&mut c, Anchor::Key, false, &[&root]);
    c.add("leaf", "dest", &leaf, "ok");
    c.add("leaf_again", "dest", &leaf, "ok");
    c.link("leaf_again", "dest", "ok");
    c.revoke("leaf_again", "ok");
    c.add("leaf_third", "dest", &leaf, "ok");
    x.push(c);
    // Linking a key twice is one link.
    let mut c = Case::new("same-cert", "link-twice");
    c.newring("a");
    c.newring("b");
    c.add("root0", "a", &root, "ok");
    c.link("root0", "b", "ok");
    c.link("root0", "b", "ok");
    c.unlink("root0", "b", "ok");
    c.unlink("root0", "b", "ENOENT");
    c.revoke("root0", "ok");
    x.push(c);
}

// ---------------------------------------------------------------------------------------------
// Unusual encodings: TBS edits re-signed with openssl
// ---------------------------------------------------------------------------------------------

/// What to change in a certificate's TBS before signing it again.
#[derive(Default)]
struct TbsEdit {
    /// INTEGER contents of the serial.
    serial: Option<Vec<u8>>,
    /// The whole validity SEQUENCE.
    validity: Option<Vec<u8>>,
    /// The subject Name (and the issuer too when the certificate is self-signed).
    name: Option<Vec<u8>>,
}

/// `base` with `edit` applied to its TBS, signed again (sha256 PKCS#1) with `signer`'s
/// private key. `base` must be sha256WithRSAEncryption.
fn reissue(
    x: &Ctx,
    base: &Arc<Cert>,
    signer: &certgen::Key,
    self_signed: bool,
    edit: TbsEdit,
    label: &str,
) -> Arc<Cert> {
    use certgen::der;
    let bytes = base.der();
    let top = der::read(&bytes, 0);
    let kids = der::children(&bytes, &top);
    let tbs = &kids[0];
    let f = der::children(&bytes, tbs);
    assert_eq!(f[0].tag, 0xa0, "{label}: v3 certificate expected");
    let mut body = Vec::new();
    body.extend_from_slice(f[0].whole(&bytes));
    match &edit.serial {
        Some(s) => body.extend(der::tlv(0x02, s)),
        None => body.extend_from_slice(f[1].whole(&bytes)),
    }
    body.extend_from_slice(f[2].whole(&bytes));
    match (&edit.name, self_signed) {
        (Some(n), true) => body.extend_from_slice(n),
        _ => body.extend_from_slice(f[3].whole(&bytes)),
    }
    match &edit.validity {
        Some(v) => body.extend_from_slice(v),
        None => body.extend_from_slice(f[4].whole(&bytes)),
    }
    match &edit.name {
        Some(n) => body.extend_from_slice(n),
        None => body.extend_from_slice(f[5].whole(&bytes)),
    }
    for t in &f[6..] {
        body.extend_from_slice(t.whole(&bytes));
    }
    let new_tbs = der::tlv(0x30, &body);
    let tbs_path = x.g.raw_file(&format!("{label}.tbs"), &new_tbs);
    let sig_path = tbs_path.with_extension("sig");
    certgen::openssl(
        x.g.dir(),
        &[
            "dgst",
            "-sha256",
            "-sign",
            signer.private_pem.to_str().unwrap(),
            "-out",
            sig_path.to_str().unwrap(),
            tbs_path.to_str().unwrap(),
        ],
    );
    let sig = fs::read(&sig_path).unwrap();
    let mut bitstring = vec![0u8];
    bitstring.extend(sig);
    let mut whole = new_tbs;
    whole.extend_from_slice(kids[1].whole(&bytes));
    whole.extend(der::tlv(0x03, &bitstring));
    let cert = der::tlv(0x30, &whole);
    let der_path = x.g.raw_file(&format!("{label}.der"), &cert);
    // A PEM twin when openssl can read it (needed only to issue below this certificate).
    let pem_path = der_path.with_extension("pem");
    let pem_ok = certgen::try_openssl(
        x.g.dir(),
        &[
            "x509",
            "-inform",
            "DER",
            "-in",
            der_path.to_str().unwrap(),
            "-out",
            pem_path.to_str().unwrap(),
        ],
    )
    .is_ok();
    Arc::new(Cert {
        stem: certgen::sanitize(label),
        cn: label.to_string(),
        key: base.key.clone(),
        der_path: der_path.clone(),
        pem_path: if pem_ok { pem_path } else { der_path },
        parsed: certgen::parse_cert(&cert),
        has_skid: base.has_skid,
        sig: base.sig,
        akid: base.akid,
        corrupt: base.corrupt,
    })
}

/// A validity SEQUENCE from two encoded times (tag 0x17 UTCTime, 0x18 GeneralizedTime).
fn validity(from: Time, to: Time) -> Vec<u8> {
    use certgen::der::tlv;
    let mut v = tlv(from.0, from.1.as_bytes());
    v.extend(tlv(to.0, to.1.as_bytes()));
    tlv(0x30, &v)
}

/// A Name of several RDNs (attribute OID's last byte under 2.5.4, UTF8String value).
fn name(parts: &[(u8, &str)]) -> Vec<u8> {
    use certgen::der::tlv;
    let mut rdns = Vec::new();
    for (attr, value) in parts {
        let mut atv = tlv(0x06, &[0x55, 0x04, *attr]);
        atv.extend(tlv(0x0c, value.as_bytes()));
        rdns.extend(tlv(0x31, &tlv(0x30, &atv)));
    }
    tlv(0x30, &rdns)
}

/// An encoded time: its tag and its text.
type Time = (u8, &'static str);

const UTC: u8 = 0x17;
const GEN: u8 = 0x18;

/// Serials, names and validity times at the edges of what the kernel's X.509 parser takes,
/// and RSA key sizes it parses but will not verify with.
pub(super) fn fam_encodings(x: &mut Ctx) {
    let rk = x.k(2048, 0);
    let root = x.root("enroot", &rk);
    let leaf = x.leaf("enleaf", &x.k(2048, 1), &root);

    // --- serials -------------------------------------------------------------------------
    let serials: [(&str, Vec<u8>); 6] = [
        ("zero", vec![0x00]),
        ("negative", vec![0xff, 0x01]),
        ("minus-one", vec![0xff]),
        ("20-bytes", vec![0x7f; 20]),
        (
            "21-bytes-leading-zero",
            [vec![0x00], vec![0x80; 20]].concat(),
        ),
        ("32-bytes", vec![0x42; 32]),
    ];
    for (label, serial) in serials {
        // A root with that serial, and a leaf whose AKID names it by issuer + serial.
        let odd_root = reissue(
            x,
            &root,
            &rk,
            true,
            TbsEdit {
                serial: Some(serial.clone()),
                ..TbsEdit::default()
            },
            &format!("enroot-serial-{label}"),
        );
        let target = certgen::AuthRef {
            keyid: rk.skid.clone(),
            issuer_name: root.parsed.subject.clone(),
            serial: serial.clone(),
        };
        let by_serial = x.issue("enbyserial", &x.k(2048, 2), Signer::By(root.clone()), |s| {
            s.akid(Akid::IssuerSerial).akid_names(target)
        });
        let wrong = x.issue(
            "enwrongserial",
            &x.k(2048, 3),
            Signer::By(root.clone()),
            |s| s.akid(Akid::IssuerSerial),
        );
        let mut c = Case::new("encoding", format!("serial/{label}"));
        c.newring("anchor");
        c.add("root0", "anchor", &odd_root, "ok");
        c.newring("dest");
        c.restrict("dest", "key_or_keyring:anchor", "ok");
        c.add("by_keyid", "dest", &leaf, "ok");
        c.add("by_serial", "dest", &by_serial, "ok");
        c.add("wrong_serial", "dest", &wrong, "ENOKEY");
        x.push(c);
        // The odd serial on a leaf.
        let odd_leaf = reissue(
            x,
            &leaf,
            &rk,
            false,
            TbsEdit {
                serial: Some(serial),
                ..TbsEdit::default()
            },
            &format!("enleaf-serial-{label}"),
        );
        let mut c = Case::new("encoding", format!("leaf-serial/{label}"));
        setup(&mut c, Anchor::Key, false, &[&root]);
        c.add("leaf", "dest", &odd_leaf, "ok");
        x.push(c);
    }

    // --- long names ----------------------------------------------------------------------
    let long_cn = "n".repeat(1000);
    let huge_cn = "h".repeat(5000);
    let long_o = "o".repeat(300);
    let names: [(&str, Vec<u8>); 4] = [
        ("cn-1000", name(&[(3, &long_cn)])),
        ("cn-5000", name(&[(3, &huge_cn)])),
        ("o-and-cn", name(&[(10, &long_o), (3, "short")])),
        (
            "many-rdns",
            name(&[
                (6, "XX"),
                (8, &"s".repeat(120)),
                (7, &"l".repeat(120)),
                (10, &"o".repeat(120)),
                (11, &"u".repeat(120)),
                (3, &"c".repeat(60)),
            ]),
        ),
    ];
    for (label, n) in names {
        let long_root = reissue(
            x,
            &root,
            &rk,
            true,
            TbsEdit {
                name: Some(n.clone()),
                ..TbsEdit::default()
            },
            &format!("enroot-name-{label}"),
        );
        let long_leaf = reissue(
            x,
            &leaf,
            &rk,
            false,
            TbsEdit {
                name: Some(n),
                ..TbsEdit::default()
            },
            &format!("enleaf-name-{label}"),
        );
        let mut c = Case::new("encoding", format!("name/{label}"));
        c.newring("anchor");
        c.add("root0", "anchor", &long_root, "ok");
        c.newring("dest");
        c.restrict("dest", "key_or_keyring:anchor", "ok");
        c.add("leaf", "dest", &leaf, "ok");
        c.add("long_leaf", "dest", &long_leaf, "ok");
        c.revoke("long_leaf", "ok");
        x.push(c);
    }

    // --- validity times ------------------------------------------------------------------
    let times: [(&str, Time, Time, &str); 12] = [
        (
            "utc-1970-to-2049",
            (UTC, "700101000000Z"),
            (UTC, "491231235959Z"),
            "ok",
        ),
        (
            "utc-to-gen-2050",
            (UTC, "250101000000Z"),
            (GEN, "20500101000000Z"),
            "ok",
        ),
        (
            "gen-9999",
            (UTC, "250101000000Z"),
            (GEN, "99991231235959Z"),
            "ok",
        ),
        (
            "utc-1950",
            (UTC, "500101000000Z"),
            (UTC, "491231235959Z"),
            "EBADMSG",
        ),
        (
            "gen-1969",
            (GEN, "19691231235959Z"),
            (GEN, "20500101000000Z"),
            "EBADMSG",
        ),
        (
            "gen-2049-in-utc-range",
            (GEN, "20250101000000Z"),
            (GEN, "20491231235959Z"),
            "EBADMSG",
        ),
        (
            "feb29-leap",
            (UTC, "240229120000Z"),
            (UTC, "280229120000Z"),
            "ok",
        ),
        (
            "feb29-not-leap",
            (UTC, "230229120000Z"),
            (UTC, "300101000000Z"),
            "EBADMSG",
        ),
        (
            "gen-2050-to-2100",
            (GEN, "20500101000000Z"),
            (GEN, "21000101000000Z"),
            "ok",
        ),
        (
            "utc-no-seconds",
            (UTC, "2501010000Z"),
            (UTC, "300101000000Z"),
            "EBADMSG",
        ),
        (
            "utc-offset",
            (UTC, "250101000000+0100"),
            (UTC, "300101000000Z"),
            "EBADMSG",
        ),
        (
            "expired",
            (UTC, "000101000000Z"),
            (UTC, "000102000000Z"),
            "ok",
        ),
    ];
    for (label, from, to, want) in times {
        let timed = reissue(
            x,
            &leaf,
            &rk,
            false,
            TbsEdit {
                validity: Some(validity(from, to)),
                ..TbsEdit::default()
            },
            &format!("enleaf-time-{label}"),
        );
        let mut c = Case::new("encoding", format!("time/{label}"));
        setup(&mut c, Anchor::Key, false, &[&root]);
        c.add("leaf", "dest", &timed, want);
        c.newring("open");
        c.add("leaf_open", "open", &timed, want);
        x.push(c);
    }

    // --- RSA key sizes: parsed, then refused when used to verify --------------------------
    for bits in [512u32, 1000, 1536, 2047, 3000] {
        let k = x.k(bits, 0);
        let inter = x.inter(&format!("eninter{bits}"), &k, &root);
        let below = x.leaf("enbelow", &x.k(2048, 4), &inter);
        let self_signed = x.root(&format!("enself{bits}"), &k);
        let mut c = Case::new("encoding", format!("rsa-{bits}"));
        setup(&mut c, Anchor::Ring, true, &[&root]);
        c.add("inter", "dest", &inter, "ok");
        // The kernel sizes an RSA key by its modulus in whole bytes (a 2047-bit modulus is
        // a 2048-bit key), then takes 512, 1024, 1536, 2048, 3072 and 4096 only.
        let usable = matches!(bits.div_ceil(8) * 8, 512 | 1024 | 1536 | 2048 | 3072 | 4096);
        c.add(
            "below",
            "dest",
            &below,
            if usable { "ok" } else { "EINVAL" },
        );
        c.newring("open");
        c.add(
            "self",
            "open",
            &self_signed,
            if usable { "ok" } else { "EINVAL" },
        );
        x.push(c);
    }
}
