//! Certificate generator for the kernel differential tests.
//!
//! Everything is produced with the `openssl` command-line tool (OpenSSL 3.x), using a
//! per-certificate `-extfile` written to the work directory so that the extension set is exact:
//! OpenSSL 3 adds a subjectKeyIdentifier and an authorityKeyIdentifier by default as soon as a
//! certificate has extensions, so every config says `subjectKeyIdentifier=none` and
//! `authorityKeyIdentifier=none` and the wanted SKID/AKID are then written as raw DER
//! (`2.5.29.14=DER:…`, `2.5.29.35=DER:…`). That gives full control over the AKID contents (keyid
//! only, issuer+serial only, both, absent, or deliberately naming some other certificate).
//! After every run the produced DER is parsed back (tiny DER walker below) and the extension
//! OIDs, serial, subject and issuer are checked against the spec, so a change in OpenSSL's
//! defaults makes the generator panic instead of silently producing different certificates.
//!
//! Conventions:
//! * Subjects are `/CN=<cn>` only; the Name DER is SEQUENCE { SET { SEQUENCE { 2.5.4.3,
//!   UTF8String } } } (verified after generation).
//! * The SKID of a key is SHA-1 over the subjectPublicKey BIT STRING contents (RFC 5280 method 1),
//!   computed once per key. A certificate "with SKID" carries its key's SKID; an AKID keyid that
//!   names certificate X carries X's key's SKID, whether or not X itself has a SKID extension.
//! * All outputs are DER (`-outform DER`); a PEM twin is written for use with `-CA` and for
//!   the "PEM input" cases.
//! * Every openssl run passes explicit `-days` and `-set_serial`.
//! * MD5: OpenSSL 3.0 signs md5WithRSAEncryption with `-md5` from the default provider at the
//!   default security level (checked at runtime by `md5_supported`; if a future OpenSSL refuses,
//!   `Hash::Md5` generation panics with the OpenSSL error, and the md5 cases must be dropped).
//! * RSA-PSS: `-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest` (OID rsassaPss).
//! * RSA-4096 key generation is slow: at most two 4096-bit keys per `CertGen`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

// ---------------------------------------------------------------------------------------------
// Small process helpers
// ---------------------------------------------------------------------------------------------

/// Runs `openssl ARGS` in `cwd`, panicking with stderr on failure.
/// Writes the PEM form of a DER certificate next to it (openssl x509 -inform DER).
fn der_to_pem(cwd: &Path, der: &Path, pem: &Path) {
    openssl(
        cwd,
        &[
            "x509",
            "-inform",
            "DER",
            "-in",
            &path_s(der),
            "-outform",
            "PEM",
            "-out",
            &path_s(pem),
        ],
    );
}

pub fn openssl(cwd: &Path, args: &[&str]) -> Vec<u8> {
    match try_openssl(cwd, args) {
        Ok(out) => out,
        Err(e) => panic!("openssl {} failed: {e}", args.join(" ")),
    }
}

/// Runs `openssl ARGS` in `cwd`; Err(stderr) on a non-zero exit.
pub fn try_openssl(cwd: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot spawn openssl: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `AA:BB:CC` form used by OpenSSL's `DER:` extension syntax.
fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

// ---------------------------------------------------------------------------------------------
// Minimal DER reading/writing
// ---------------------------------------------------------------------------------------------

pub mod der {
    /// One TLV: tag byte, where the header starts, where the contents start and end.
    #[derive(Clone, Copy, Debug)]
    pub struct Tlv {
        pub tag: u8,
        pub start: usize,
        pub content: usize,
        pub end: usize,
    }

    impl Tlv {
        pub fn contents<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
            &buf[self.content..self.end]
        }
        pub fn whole<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
            &buf[self.start..self.end]
        }
    }

    /// Reads the TLV starting at `pos` (single-byte tags, definite lengths up to 4 octets).
    pub fn read(buf: &[u8], pos: usize) -> Tlv {
        let tag = buf[pos];
        let l0 = buf[pos + 1] as usize;
        let (len, hdr) = if l0 < 0x80 {
            (l0, 2)
        } else {
            let n = l0 & 0x7f;
            assert!((1..=4).contains(&n), "unsupported DER length form at {pos}");
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | buf[pos + 2 + i] as usize;
            }
            (len, 2 + n)
        };
        let content = pos + hdr;
        let end = content + len;
        assert!(end <= buf.len(), "DER element at {pos} overruns buffer");
        Tlv {
            tag,
            start: pos,
            content,
            end,
        }
    }

    /// The children of a constructed element.
    pub fn children(buf: &[u8], parent: &Tlv) -> Vec<Tlv> {
        let mut out = Vec::new();
        let mut pos = parent.content;
        while pos < parent.end {
            let t = read(buf, pos);
            pos = t.end;
            out.push(t);
        }
        out
    }

    pub fn encode_len(len: usize) -> Vec<u8> {
        if len < 0x80 {
            vec![len as u8]
        } else if len < 0x100 {
            vec![0x81, len as u8]
        } else if len < 0x10000 {
            vec![0x82, (len >> 8) as u8, len as u8]
        } else {
            vec![0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]
        }
    }

    pub fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend(encode_len(contents.len()));
        v.extend_from_slice(contents);
        v
    }

    /// INTEGER contents (minimal two's complement) of a non-negative value.
    pub fn uint_contents(mut v: u64) -> Vec<u8> {
        let mut bytes = Vec::new();
        loop {
            bytes.push(v as u8);
            v >>= 8;
            if v == 0 {
                break;
            }
        }
        bytes.reverse();
        if bytes[0] & 0x80 != 0 {
            bytes.insert(0, 0);
        }
        bytes
    }

    /// Name DER for `/CN=<cn>` as OpenSSL encodes it (UTF8String).
    pub fn cn_name(cn: &str) -> Vec<u8> {
        let oid = [0x06, 0x03, 0x55, 0x04, 0x03];
        let mut atv = oid.to_vec();
        atv.extend(tlv(0x0c, cn.as_bytes()));
        tlv(0x30, &tlv(0x31, &tlv(0x30, &atv)))
    }
}

/// The parts of a certificate the generator and the tests care about.
#[derive(Clone, Debug)]
pub struct ParsedCert {
    /// INTEGER contents of serialNumber.
    pub serial: Vec<u8>,
    /// Whole issuer Name TLV.
    pub issuer: Vec<u8>,
    /// Whole subject Name TLV.
    pub subject: Vec<u8>,
    /// Whole SubjectPublicKeyInfo TLV.
    pub spki: Vec<u8>,
    /// Extension OIDs (contents of the OBJECT IDENTIFIER) in order.
    pub ext_oids: Vec<Vec<u8>>,
    /// Offset of the first signature byte (after the unused-bits octet) in the DER.
    pub sig_offset: usize,
    /// Signature length in bytes.
    pub sig_len: usize,
    /// Offset of the last byte of the subject Name (inside the TBS).
    pub subject_last_byte: usize,
}

pub fn parse_cert(buf: &[u8]) -> ParsedCert {
    let outer = der::read(buf, 0);
    let parts = der::children(buf, &outer);
    assert_eq!(parts.len(), 3, "Certificate must have 3 parts");
    let tbs = der::children(buf, &parts[0]);
    let mut i = 0;
    if tbs[0].tag == 0xa0 {
        i = 1;
    }
    let serial = tbs[i].contents(buf).to_vec();
    let issuer = tbs[i + 2].whole(buf).to_vec();
    let subject_tlv = tbs[i + 4];
    let subject = subject_tlv.whole(buf).to_vec();
    let spki = tbs[i + 5].whole(buf).to_vec();
    let mut ext_oids = Vec::new();
    for t in &tbs[i + 6..] {
        if t.tag == 0xa3 {
            let seq = der::read(buf, t.content);
            for ext in der::children(buf, &seq) {
                let f = der::children(buf, &ext);
                ext_oids.push(f[0].contents(buf).to_vec());
            }
        }
    }
    let sig = parts[2];
    assert_eq!(sig.tag, 0x03);
    ParsedCert {
        serial,
        issuer,
        subject,
        spki,
        ext_oids,
        sig_offset: sig.content + 1,
        sig_len: sig.end - sig.content - 1,
        subject_last_byte: subject_tlv.end - 1,
    }
}

const OID_BASIC_CONSTRAINTS: [u8; 3] = [0x55, 0x1d, 0x13];
const OID_KEY_USAGE: [u8; 3] = [0x55, 0x1d, 0x0f];
const OID_SKID: [u8; 3] = [0x55, 0x1d, 0x0e];
const OID_AKID: [u8; 3] = [0x55, 0x1d, 0x23];

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlg {
    Rsa(u32),
    /// ECDSA on P-256 (this kernel has no ecdsa; used for the "unsupported key" cases).
    EcP256,
}

impl KeyAlg {
    pub fn label(&self) -> String {
        match self {
            KeyAlg::Rsa(b) => format!("rsa{b}"),
            KeyAlg::EcP256 => "p256".into(),
        }
    }
}

#[derive(Debug)]
pub struct Key {
    pub alg: KeyAlg,
    pub index: usize,
    /// PKCS#8 PEM private key.
    pub private_pem: PathBuf,
    /// SubjectPublicKeyInfo PEM.
    pub public_pem: PathBuf,
    /// SHA-1 of the subjectPublicKey BIT STRING contents.
    pub skid: Vec<u8>,
}

// ---------------------------------------------------------------------------------------------
// Certificate specs
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha3_256,
    Sha3_384,
    Sha3_512,
    Md5,
}

impl Hash {
    pub fn name(&self) -> &'static str {
        match self {
            Hash::Sha1 => "sha1",
            Hash::Sha224 => "sha224",
            Hash::Sha256 => "sha256",
            Hash::Sha384 => "sha384",
            Hash::Sha512 => "sha512",
            Hash::Sha3_256 => "sha3-256",
            Hash::Sha3_384 => "sha3-384",
            Hash::Sha3_512 => "sha3-512",
            Hash::Md5 => "md5",
        }
    }
    pub const ALL_SHA: [Hash; 5] = [
        Hash::Sha1,
        Hash::Sha224,
        Hash::Sha256,
        Hash::Sha384,
        Hash::Sha512,
    ];
    pub const ALL_SHA3: [Hash; 3] = [Hash::Sha3_256, Hash::Sha3_384, Hash::Sha3_512];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigAlg {
    pub hash: Hash,
    /// RSASSA-PSS instead of PKCS#1 v1.5 (salt length = digest length).
    pub pss: bool,
}

impl SigAlg {
    pub const fn pkcs1(hash: Hash) -> SigAlg {
        SigAlg { hash, pss: false }
    }
    pub const fn pss(hash: Hash) -> SigAlg {
        SigAlg { hash, pss: true }
    }
    pub fn label(&self) -> String {
        if self.pss {
            format!("pss-{}", self.hash.name())
        } else {
            self.hash.name().to_string()
        }
    }
}

/// basicConstraints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bc {
    Absent,
    /// critical, CA:TRUE
    Ca,
    /// CA:FALSE (DER: empty SEQUENCE)
    NotCa,
}

/// keyUsage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ku {
    Absent,
    DigitalSignature,
    KeyCertSign,
    Both,
    /// Present but with neither of the two bits (keyEncipherment only).
    Neither,
}

/// authorityKeyIdentifier layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Akid {
    Absent,
    /// [0] keyIdentifier only (`authorityKeyIdentifier=keyid`).
    KeyId,
    /// [1] authorityCertIssuer + [2] authorityCertSerialNumber only (`=issuer:always`).
    IssuerSerial,
    /// All three fields (`=keyid,issuer:always`).
    Both,
}

impl Akid {
    pub fn label(&self) -> &'static str {
        match self {
            Akid::Absent => "noakid",
            Akid::KeyId => "keyid",
            Akid::IssuerSerial => "issuer+serial",
            Akid::Both => "both",
        }
    }
    pub const ALL: [Akid; 4] = [Akid::KeyId, Akid::IssuerSerial, Akid::Both, Akid::Absent];
}

/// What an AKID points at: keyid = SKID of the named cert's key; issuer+serial = the named
/// cert's issuer Name and serialNumber.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthRef {
    pub keyid: Vec<u8>,
    /// Whole Name TLV.
    pub issuer_name: Vec<u8>,
    /// INTEGER contents.
    pub serial: Vec<u8>,
}

/// Who signs the certificate and whose name goes into its issuer field.
#[derive(Clone, Debug)]
pub enum Signer {
    /// Subject key signs; issuer = subject.
    SelfSigned,
    /// Issued by this certificate (issuer = its subject), signed with its key.
    By(Arc<Cert>),
    /// Issuer name taken from this certificate but signed with another key (a forged or
    /// "wrong key" signature; the AKID still defaults to naming the certificate).
    ByWithKey(Arc<Cert>, Arc<Key>),
    /// issuer = subject, but signed with this other key (self-issued, not self-signed).
    SelfIssuedBy(Arc<Key>),
}

/// Post-processing damage applied to the DER.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corrupt {
    None,
    /// XOR 0x01 into the last signature byte.
    SigLastByte,
    /// XOR 0x80 into the first signature byte (usually makes s >= n for RSA).
    SigFirstByte,
    /// XOR 0x01 into the last byte of the subject Name (TBS changes, signature intact).
    TbsSubject,
}

#[derive(Clone, Debug)]
pub struct CertSpec {
    pub cn: String,
    pub serial: u64,
    pub key: Arc<Key>,
    pub signer: Signer,
    pub sig: SigAlg,
    pub bc: Bc,
    pub ku: Ku,
    pub skid: bool,
    pub akid: Akid,
    /// Overrides what the AKID names (default: the issuing certificate / the cert itself).
    pub akid_target: Option<AuthRef>,
    pub corrupt: Corrupt,
    pub days: u32,
}

impl CertSpec {
    /// A v3 certificate with sane defaults: sha256 PKCS#1, SKID present, AKID keyid,
    /// CA:TRUE + keyCertSign for self-signed certs, CA:FALSE + digitalSignature otherwise.
    pub fn new(cn: &str, serial: u64, key: &Arc<Key>, signer: Signer) -> CertSpec {
        let self_signed = matches!(signer, Signer::SelfSigned);
        CertSpec {
            cn: cn.to_string(),
            serial,
            key: key.clone(),
            signer,
            sig: SigAlg::pkcs1(Hash::Sha256),
            bc: if self_signed { Bc::Ca } else { Bc::NotCa },
            ku: if self_signed {
                Ku::KeyCertSign
            } else {
                Ku::DigitalSignature
            },
            skid: true,
            akid: Akid::KeyId,
            akid_target: None,
            corrupt: Corrupt::None,
            days: 3650,
        }
    }
    pub fn ca(mut self) -> Self {
        self.bc = Bc::Ca;
        self.ku = Ku::KeyCertSign;
        self
    }
    pub fn sig(mut self, sig: SigAlg) -> Self {
        self.sig = sig;
        self
    }
    pub fn hash(mut self, h: Hash) -> Self {
        self.sig = SigAlg::pkcs1(h);
        self
    }
    pub fn bc(mut self, bc: Bc) -> Self {
        self.bc = bc;
        self
    }
    pub fn ku(mut self, ku: Ku) -> Self {
        self.ku = ku;
        self
    }
    pub fn skid(mut self, on: bool) -> Self {
        self.skid = on;
        self
    }
    pub fn akid(mut self, a: Akid) -> Self {
        self.akid = a;
        self
    }
    pub fn akid_names(mut self, target: AuthRef) -> Self {
        self.akid_target = Some(target);
        self
    }
    pub fn corrupt(mut self, c: Corrupt) -> Self {
        self.corrupt = c;
        self
    }
    pub fn days(mut self, d: u32) -> Self {
        self.days = d;
        self
    }
}

#[derive(Debug)]
pub struct Cert {
    /// Unique file stem (also used as the file name inside case directories).
    pub stem: String,
    pub cn: String,
    pub key: Arc<Key>,
    pub der_path: PathBuf,
    pub pem_path: PathBuf,
    pub parsed: ParsedCert,
    pub has_skid: bool,
    /// The spec the certificate was made from (for reports).
    pub sig: SigAlg,
    pub akid: Akid,
    pub corrupt: Corrupt,
}

impl Cert {
    /// What an AKID naming this certificate contains.
    pub fn auth_ref(&self) -> AuthRef {
        AuthRef {
            keyid: self.key.skid.clone(),
            issuer_name: self.parsed.issuer.clone(),
            serial: self.parsed.serial.clone(),
        }
    }
    pub fn der(&self) -> Vec<u8> {
        fs::read(&self.der_path).expect("read cert DER")
    }
}

fn akid_der(kind: Akid, target: &AuthRef) -> Option<Vec<u8>> {
    let keyid = der::tlv(0x80, &target.keyid);
    let issuer = der::tlv(0xa1, &der::tlv(0xa4, &target.issuer_name));
    let serial = der::tlv(0x82, &target.serial);
    let body = match kind {
        Akid::Absent => return None,
        Akid::KeyId => keyid,
        Akid::IssuerSerial => [issuer, serial].concat(),
        Akid::Both => [keyid, issuer, serial].concat(),
    };
    Some(der::tlv(0x30, &body))
}

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

pub struct CertGen {
    dir: PathBuf,
    keys: Mutex<HashMap<(KeyAlg, usize), Arc<Key>>>,
    /// Shadow CA certificates (issuer name of cert X, key K) for `Signer::ByWithKey`.
    shadows: Mutex<HashMap<(String, usize, KeyAlg), PathBuf>>,
    counter: AtomicUsize,
}

impl CertGen {
    /// `dir` is created if needed; all keys, configs and certificates live under it.
    pub fn new(dir: &Path) -> CertGen {
        fs::create_dir_all(dir.join("keys")).unwrap();
        fs::create_dir_all(dir.join("certs")).unwrap();
        fs::create_dir_all(dir.join("tmp")).unwrap();
        CertGen {
            dir: dir.to_path_buf(),
            keys: Mutex::new(HashMap::new()),
            shadows: Mutex::new(HashMap::new()),
            counter: AtomicUsize::new(0),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn unique(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        format!("{prefix}{n:04}")
    }

    /// Generates (in parallel, two at a time) the given keys so that later `key()` calls hit
    /// the cache.
    pub fn prefetch(&self, wanted: &[(KeyAlg, usize)]) {
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= wanted.len() {
                        break;
                    }
                    let (alg, idx) = wanted[i];
                    let _ = self.key(alg, idx);
                });
            }
        });
    }

    /// The `index`-th key of the given algorithm (cached for the lifetime of the generator).
    pub fn key(&self, alg: KeyAlg, index: usize) -> Arc<Key> {
        if alg == KeyAlg::Rsa(4096) {
            assert!(index < 2, "at most two RSA-4096 keys (keygen is slow)");
        }
        if let Some(k) = self.keys.lock().unwrap().get(&(alg, index)) {
            return k.clone();
        }
        let key = Arc::new(self.gen_key(alg, index));
        self.keys
            .lock()
            .unwrap()
            .entry((alg, index))
            .or_insert(key)
            .clone()
    }

    fn gen_key(&self, alg: KeyAlg, index: usize) -> Key {
        let kdir = self.dir.join("keys");
        let stem = format!("{}-{index}", alg.label());
        let private_pem = kdir.join(format!("{stem}.key.pem"));
        let public_pem = kdir.join(format!("{stem}.pub.pem"));
        let public_der = kdir.join(format!("{stem}.pub.der"));
        let priv_s = private_pem.to_str().unwrap();
        match alg {
            KeyAlg::Rsa(bits) => {
                let b = format!("rsa_keygen_bits:{bits}");
                openssl(
                    &kdir,
                    &[
                        "genpkey",
                        "-algorithm",
                        "RSA",
                        "-pkeyopt",
                        &b,
                        "-out",
                        priv_s,
                    ],
                );
            }
            KeyAlg::EcP256 => {
                openssl(
                    &kdir,
                    &[
                        "genpkey",
                        "-algorithm",
                        "EC",
                        "-pkeyopt",
                        "ec_paramgen_curve:P-256",
                        "-out",
                        priv_s,
                    ],
                );
            }
        }
        openssl(
            &kdir,
            &[
                "pkey",
                "-in",
                priv_s,
                "-pubout",
                "-out",
                public_pem.to_str().unwrap(),
            ],
        );
        openssl(
            &kdir,
            &[
                "pkey",
                "-in",
                priv_s,
                "-pubout",
                "-outform",
                "DER",
                "-out",
                public_der.to_str().unwrap(),
            ],
        );
        let spki = fs::read(&public_der).unwrap();
        let top = der::read(&spki, 0);
        let parts = der::children(&spki, &top);
        let bits = parts[1].contents(&spki)[1..].to_vec();
        let bits_path = kdir.join(format!("{stem}.bits"));
        fs::write(&bits_path, &bits).unwrap();
        let skid = openssl(
            &kdir,
            &["dgst", "-sha1", "-binary", bits_path.to_str().unwrap()],
        );
        assert_eq!(skid.len(), 20);
        Key {
            alg,
            index,
            private_pem,
            public_pem,
            skid,
        }
    }

    /// A self-signed CA shadow with subject = `name_of`'s subject and key `key`, used as the
    /// `-CA` for "issuer name of X, signature by K".
    fn shadow(&self, name_of: &Cert, key: &Arc<Key>) -> PathBuf {
        let k = (name_of.stem.clone(), key.index, key.alg);
        if let Some(p) = self.shadows.lock().unwrap().get(&k) {
            return p.clone();
        }
        let tmp = self.dir.join("tmp");
        let stem = self.unique("shadow");
        let cnf = tmp.join(format!("{stem}.cnf"));
        fs::write(
            &cnf,
            "[ext]\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n",
        )
        .unwrap();
        let out = tmp.join(format!("{stem}.pem"));
        let subj = format!("/CN={}", name_of.cn);
        openssl(
            &tmp,
            &[
                "x509",
                "-new",
                "-subj",
                &subj,
                "-key",
                key.private_pem.to_str().unwrap(),
                "-set_serial",
                "1",
                "-days",
                "30",
                "-extfile",
                cnf.to_str().unwrap(),
                "-extensions",
                "ext",
                "-sha256",
                "-out",
                out.to_str().unwrap(),
            ],
        );
        let parsed = parse_cert(&pem_to_der(&tmp, &out));
        assert_eq!(
            parsed.subject, name_of.parsed.subject,
            "shadow subject differs"
        );
        self.shadows.lock().unwrap().insert(k, out.clone());
        out
    }

    /// Creates a certificate (DER + PEM twin) per `spec`.
    pub fn cert(&self, spec: CertSpec) -> Arc<Cert> {
        let stem = sanitize(&format!("{}-{}", self.unique("c"), spec.cn));
        let tmp = self.dir.join("tmp");
        let certs = self.dir.join("certs");
        let der_path = certs.join(format!("{stem}.der"));
        let pem_path = certs.join(format!("{stem}.pem"));

        let subject_name = der::cn_name(&spec.cn);
        let serial = der::uint_contents(spec.serial);
        // Default AKID target.
        let target = match (&spec.akid_target, &spec.signer) {
            (Some(t), _) => t.clone(),
            (None, Signer::By(c)) | (None, Signer::ByWithKey(c, _)) => c.auth_ref(),
            (None, Signer::SelfSigned) => AuthRef {
                keyid: spec.key.skid.clone(),
                issuer_name: subject_name.clone(),
                serial: serial.clone(),
            },
            (None, Signer::SelfIssuedBy(k)) => AuthRef {
                keyid: k.skid.clone(),
                issuer_name: subject_name.clone(),
                serial: serial.clone(),
            },
        };

        // Extension config.
        let mut cnf =
            String::from("[ext]\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n");
        let mut want_oids: Vec<[u8; 3]> = Vec::new();
        match spec.bc {
            Bc::Absent => {}
            Bc::Ca => {
                cnf.push_str("basicConstraints=critical,CA:TRUE\n");
                want_oids.push(OID_BASIC_CONSTRAINTS);
            }
            Bc::NotCa => {
                cnf.push_str("basicConstraints=CA:FALSE\n");
                want_oids.push(OID_BASIC_CONSTRAINTS);
            }
        }
        let ku = match spec.ku {
            Ku::Absent => None,
            Ku::DigitalSignature => Some("digitalSignature"),
            Ku::KeyCertSign => Some("keyCertSign"),
            Ku::Both => Some("digitalSignature,keyCertSign"),
            Ku::Neither => Some("keyEncipherment"),
        };
        if let Some(ku) = ku {
            let _ = writeln!(cnf, "keyUsage=critical,{ku}");
            want_oids.push(OID_KEY_USAGE);
        }
        if spec.skid {
            let _ = writeln!(
                cnf,
                "2.5.29.14=DER:{}",
                colon_hex(&der::tlv(0x04, &spec.key.skid))
            );
            want_oids.push(OID_SKID);
        }
        if let Some(a) = akid_der(spec.akid, &target) {
            let _ = writeln!(cnf, "2.5.29.35=DER:{}", colon_hex(&a));
            want_oids.push(OID_AKID);
        }
        let cnf_path = tmp.join(format!("{stem}.cnf"));
        fs::write(&cnf_path, &cnf).unwrap();

        let subj = format!("/CN={}", spec.cn);
        let serial_s = spec.serial.to_string();
        let days_s = spec.days.to_string();
        let md = format!("-{}", spec.sig.hash.name());
        let raw_out = tmp.join(format!("{stem}.raw.der"));
        let mut args: Vec<String> = vec!["x509".into(), "-new".into(), "-subj".into(), subj];
        let shadow;
        match &spec.signer {
            Signer::SelfSigned => {
                args.extend(["-key".into(), path_s(&spec.key.private_pem)]);
            }
            Signer::SelfIssuedBy(k) => {
                args.extend([
                    "-key".into(),
                    path_s(&k.private_pem),
                    "-force_pubkey".into(),
                    path_s(&spec.key.public_pem),
                ]);
            }
            Signer::By(c) => {
                args.extend([
                    "-force_pubkey".into(),
                    path_s(&spec.key.public_pem),
                    "-CA".into(),
                    path_s(&c.pem_path),
                    "-CAkey".into(),
                    path_s(&c.key.private_pem),
                ]);
            }
            Signer::ByWithKey(c, k) => {
                shadow = self.shadow(c, k);
                args.extend([
                    "-force_pubkey".into(),
                    path_s(&spec.key.public_pem),
                    "-CA".into(),
                    path_s(&shadow),
                    "-CAkey".into(),
                    path_s(&k.private_pem),
                ]);
            }
        }
        args.extend([
            "-set_serial".into(),
            serial_s,
            "-days".into(),
            days_s,
            "-extfile".into(),
            path_s(&cnf_path),
            "-extensions".into(),
            "ext".into(),
        ]);
        let signing_is_ec = match &spec.signer {
            Signer::SelfSigned => spec.key.alg == KeyAlg::EcP256,
            Signer::SelfIssuedBy(k) | Signer::ByWithKey(_, k) => k.alg == KeyAlg::EcP256,
            Signer::By(c) => c.key.alg == KeyAlg::EcP256,
        };
        args.push(md);
        if spec.sig.pss {
            assert!(!signing_is_ec, "PSS needs an RSA signing key");
            args.extend([
                "-sigopt".into(),
                "rsa_padding_mode:pss".into(),
                "-sigopt".into(),
                "rsa_pss_saltlen:digest".into(),
            ]);
        }
        args.extend([
            "-outform".into(),
            "DER".into(),
            "-out".into(),
            path_s(&raw_out),
        ]);
        let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        openssl(&tmp, &argv);

        let mut bytes = fs::read(&raw_out).unwrap();
        let parsed = parse_cert(&bytes);
        // Verify exactness.
        assert_eq!(
            parsed.subject, subject_name,
            "{stem}: unexpected subject encoding"
        );
        assert_eq!(parsed.serial, serial, "{stem}: unexpected serial encoding");
        let want_issuer = match &spec.signer {
            Signer::SelfSigned | Signer::SelfIssuedBy(_) => subject_name.clone(),
            Signer::By(c) | Signer::ByWithKey(c, _) => c.parsed.subject.clone(),
        };
        assert_eq!(parsed.issuer, want_issuer, "{stem}: unexpected issuer");
        let got: Vec<Vec<u8>> = parsed.ext_oids.clone();
        let want: Vec<Vec<u8>> = want_oids.iter().map(|o| o.to_vec()).collect();
        assert_eq!(
            got, want,
            "{stem}: extension set differs from the spec (OpenSSL defaults changed?)"
        );

        match spec.corrupt {
            Corrupt::None => {}
            Corrupt::SigLastByte => bytes[parsed.sig_offset + parsed.sig_len - 1] ^= 0x01,
            Corrupt::SigFirstByte => bytes[parsed.sig_offset] ^= 0x80,
            Corrupt::TbsSubject => bytes[parsed.subject_last_byte] ^= 0x01,
        }
        let parsed = parse_cert(&bytes);
        fs::write(&der_path, &bytes).unwrap();
        der_to_pem(&certs, &der_path, &pem_path);
        Arc::new(Cert {
            stem,
            cn: spec.cn.clone(),
            key: spec.key.clone(),
            der_path,
            pem_path,
            parsed,
            has_skid: spec.skid,
            sig: spec.sig,
            akid: spec.akid,
            corrupt: spec.corrupt,
        })
    }

    /// Writes arbitrary bytes as a named input file under the generator's directory.
    pub fn raw_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self
            .dir
            .join("certs")
            .join(format!("{}-{}", self.unique("f"), sanitize(name)));
        fs::write(&p, bytes).unwrap();
        p
    }

    /// True when this OpenSSL signs md5WithRSAEncryption certificates.
    pub fn md5_supported(&self) -> bool {
        let k = self.key(KeyAlg::Rsa(2048), 0);
        let tmp = self.dir.join("tmp");
        try_openssl(
            &tmp,
            &[
                "x509",
                "-new",
                "-subj",
                "/CN=md5probe",
                "-key",
                &path_s(&k.private_pem),
                "-set_serial",
                "1",
                "-days",
                "1",
                "-md5",
                "-outform",
                "DER",
                "-out",
                "md5probe.der",
            ],
        )
        .is_ok()
    }
}

fn path_s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

fn pem_to_der(cwd: &Path, pem: &Path) -> Vec<u8> {
    openssl(cwd, &["x509", "-in", &path_s(pem), "-outform", "DER"])
}

/// File-name friendly version of a label.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// RSA prehashed signing helpers for the pkey_verify comparison.
pub mod rsa_sign {
    use super::*;

    /// `openssl dgst -HASH -binary DATA > out`.
    pub fn digest(cwd: &Path, hash: &str, data: &Path, out: &Path) {
        let d = openssl(
            cwd,
            &["dgst", &format!("-{hash}"), "-binary", &path_s(data)],
        );
        fs::write(out, d).unwrap();
    }

    /// `openssl pkeyutl -sign -inkey KEY -pkeyopt digest:HASH -in DIGEST -out SIG` (PKCS#1 v1.5).
    pub fn sign(cwd: &Path, key: &Key, hash: &str, digest: &Path, out: &Path) {
        openssl(
            cwd,
            &[
                "pkeyutl",
                "-sign",
                "-inkey",
                &path_s(&key.private_pem),
                "-pkeyopt",
                &format!("digest:{hash}"),
                "-in",
                &path_s(digest),
                "-out",
                &path_s(out),
            ],
        );
    }
}

/// Raw RSA arithmetic (num-bigint) for hand-crafted signatures the openssl CLI cannot make.
///
/// Used for "short" signatures. On 6.18, KEYCTL_PKEY_VERIFY does not reject an RSA signature
/// shorter than the modulus: it lands at the start of a zero-filled modulus-sized buffer, i.e.
/// the kernel verifies `t * 256^(k - len)` (EINVAL if that is >= n, like any out-of-range
/// signature). A (k-1)-byte `t` with `t * 256 = s` for a valid signature `s` therefore
/// verifies through keyctl, while a strict verifier says EINVAL (length mismatch). The X.509
/// signature path is strict: a certificate carrying such a signature gets EINVAL.
pub mod rsa_raw {
    use super::*;
    use num_bigint::BigUint;

    pub struct RsaPrivate {
        pub n: BigUint,
        pub e: BigUint,
        /// Modulus length in bytes.
        pub k: usize,
        /// The private key (the private operation is done by `openssl pkeyutl`, which is far
        /// faster than unoptimized bignum code in a debug test build).
        pub private_pem: PathBuf,
        pub cwd: PathBuf,
    }

    /// Reads n and e of an RSA key (PKCS#1 DER via `openssl rsa -traditional`).
    pub fn load(cwd: &Path, key: &Key) -> RsaPrivate {
        let der = openssl(
            cwd,
            &[
                "rsa",
                "-in",
                &path_s(&key.private_pem),
                "-outform",
                "DER",
                "-traditional",
            ],
        );
        let top = der::read(&der, 0);
        let f = der::children(&der, &top);
        let int = |i: usize| BigUint::from_bytes_be(f[i].contents(&der));
        let n = int(1);
        let k = (n.bits() as usize).div_ceil(8);
        RsaPrivate {
            n,
            e: int(2),
            k,
            private_pem: key.private_pem.clone(),
            cwd: cwd.to_path_buf(),
        }
    }

    const SHA256_PREFIX: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];

    /// EMSA-PKCS1-v1_5 block for a SHA-256 digest.
    pub fn em_sha256(k: usize, digest: &[u8]) -> Vec<u8> {
        assert_eq!(digest.len(), 32);
        let t_len = SHA256_PREFIX.len() + 32;
        let mut em = vec![0x00, 0x01];
        em.extend(std::iter::repeat_n(0xff, k - t_len - 3));
        em.push(0x00);
        em.extend_from_slice(&SHA256_PREFIX);
        em.extend_from_slice(digest);
        em
    }

    impl RsaPrivate {
        /// s = em^d mod n, as k bytes (the raw private operation: `openssl pkeyutl -decrypt` without
        /// padding).
        pub fn sign_em(&self, em: &[u8]) -> Vec<u8> {
            let n = std::process::id();
            let em_path = self
                .cwd
                .join(format!("em-{n}-{:?}.bin", std::thread::current().id()));
            fs::write(&em_path, em).unwrap();
            let s = openssl(
                &self.cwd,
                &[
                    "pkeyutl",
                    "-decrypt",
                    "-inkey",
                    &path_s(&self.private_pem),
                    "-pkeyopt",
                    "rsa_padding_mode:none",
                    "-in",
                    &path_s(&em_path),
                ],
            );
            assert_eq!(s.len(), self.k);
            s
        }

        /// A (k-1)-byte signature t with t*256 = em^d (mod n) and t*256 < n, if one exists for
        /// this em (probability about 1/256).
        pub fn short_sig(&self, em: &[u8]) -> Option<Vec<u8>> {
            let s = BigUint::from_bytes_be(&self.sign_em(em));
            let inv = BigUint::from(256u32).modinv(&self.n)?;
            let t = (s * inv) % &self.n;
            // the zero-filled value t*256 must itself be a valid RSA input (< n), else EINVAL
            if &t * BigUint::from(256u32) >= self.n {
                return None;
            }
            let b = t.to_bytes_be();
            let mut out = vec![0u8; self.k - 1 - b.len()];
            out.extend(b);
            // sanity: the right-padded value verifies
            let mut padded = out.clone();
            padded.push(0);
            let m = BigUint::from_bytes_be(&padded).modpow(&self.e, &self.n);
            assert_eq!(m, BigUint::from_bytes_be(em));
            Some(out)
        }
    }
}

impl CertGen {
    /// Re-signs `base` (issued by `issuer`, sha256 PKCS#1) with a (k-1)-byte "short" signature
    /// that verifies only under the kernel's right-zero-fill behaviour (see [`rsa_raw`]). The
    /// serial number bytes are varied until such a signature exists; the result has the same
    /// length serial as `base`.
    pub fn short_sig_cert(&self, base: &Cert, issuer_key: &Key) -> Arc<Cert> {
        assert_eq!(base.sig, SigAlg::pkcs1(Hash::Sha256));
        let tmp = self.dir.join("tmp");
        let rsa = rsa_raw::load(&tmp, issuer_key);
        let der_in = base.der();
        let outer = der::read(&der_in, 0);
        let parts = der::children(&der_in, &outer);
        let tbs = parts[0];
        let tbs_fields = der::children(&der_in, &tbs);
        let serial_tlv = if tbs_fields[0].tag == 0xa0 {
            tbs_fields[1]
        } else {
            tbs_fields[0]
        };
        let (s_start, s_end) = (serial_tlv.content - tbs.start, serial_tlv.end - tbs.start);
        assert!(s_end - s_start >= 2, "serial too short to vary");
        let stem = sanitize(&format!("{}-{}-shortsig", self.unique("c"), base.cn));
        let tbs_path = tmp.join(format!("{stem}.tbs"));
        for attempt in 0u32..20_000 {
            let mut t = tbs.whole(&der_in).to_vec();
            let n = s_end - s_start;
            let a = attempt.to_be_bytes();
            for (i, b) in t[s_start..s_end].iter_mut().enumerate() {
                *b = if i == 0 {
                    0x11
                } else if i + 4 >= n {
                    a[i + 4 - n]
                } else {
                    0x22
                };
            }
            fs::write(&tbs_path, &t).unwrap();
            let h = openssl(&tmp, &["dgst", "-sha256", "-binary", &path_s(&tbs_path)]);
            let em = rsa_raw::em_sha256(rsa.k, &h);
            let Some(sig) = rsa.short_sig(&em) else {
                continue;
            };
            let mut bits = vec![0u8];
            bits.extend(sig);
            let body = [t, parts[1].whole(&der_in).to_vec(), der::tlv(0x03, &bits)].concat();
            let bytes = der::tlv(0x30, &body);
            let der_path = self.dir.join("certs").join(format!("{stem}.der"));
            let pem_path = self.dir.join("certs").join(format!("{stem}.pem"));
            fs::write(&der_path, &bytes).unwrap();
            der_to_pem(&tmp, &der_path, &pem_path);
            return Arc::new(Cert {
                stem,
                cn: base.cn.clone(),
                key: base.key.clone(),
                der_path,
                pem_path,
                parsed: parse_cert(&bytes),
                has_skid: base.has_skid,
                sig: base.sig,
                akid: base.akid,
                corrupt: base.corrupt,
            });
        }
        panic!("no short signature found");
    }
}
