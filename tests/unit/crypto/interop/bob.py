# An independent implementation of docs/protocol.md, Part 3 (Bob's side), written from the
# document alone with Python's `cryptography` package: checks the bundle layout and signature,
# completes X3DH from Alice's prekey messages (Ed25519 -> X25519 by the documented map),
# decrypts them, answers with two ratchet messages and prints the safety number.
# Usage: bob.py ALICE_OUT_FILE   (run by run_interop.sh)
import hashlib, hmac, sys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes, serialization, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
raw = lambda k: k.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
P = 2**255 - 19
def ed_pub_to_x(edpub):
    y = int.from_bytes(edpub, 'little') & ((1 << 255) - 1)
    u = (1 + y) * pow(1 - y, P - 2, P) % P
    return u.to_bytes(32, 'little')
def ed_seed_to_x_priv(seed):
    h = bytearray(hashlib.sha512(seed).digest()[:32]); h[0] &= 248; h[31] &= 127; h[31] |= 64
    return X25519PrivateKey.from_private_bytes(bytes(h))
def dh(priv, pub): 
    out = priv.exchange(X25519PublicKey.from_public_bytes(pub)); assert any(out); return out
def hkdf(salt, ikm, info, L): return HKDF(hashes.SHA256(), L, salt, info).derive(ikm)
def hm(k, d): return hmac.new(k, d, hashlib.sha256).digest()
def kdf_rk(rk, d): o = hkdf(rk, d, b"WhisperRatchet", 64); return o[:32], o[32:]
def kdf_ck(ck): return hm(ck, b"\x02"), hm(ck, b"\x01")
def mkeys(seed): o = hkdf(b"\0"*32, seed, b"WhisperMessageKeys", 80); return o[:32], o[32:64], o[64:]

bob_seed = bytes([0x22]*32)
bob_ed = Ed25519PrivateKey.from_private_bytes(bob_seed); IK_B = raw(bob_ed.public_key())
bob_x = ed_seed_to_x_priv(bob_seed)
assert raw(bob_x.public_key()) == ed_pub_to_x(IK_B)
spk = X25519PrivateKey.from_private_bytes(bytes([0x33]*32)); opk = X25519PrivateKey.from_private_bytes(bytes([0x44]*32))

lines = open(sys.argv[1]).read().split()
bundle, m1, m2 = (bytes.fromhex(x) for x in lines)
# Bundle layout check (3.4) and signature (3.3)
assert bundle[0] == 1 and bundle[1] == 1 and len(bundle) == 170 and bundle[2:34] == IK_B
spk_id = int.from_bytes(bundle[34:38], 'big'); assert bundle[38:70] == raw(spk.public_key())
Ed25519PublicKey.from_public_bytes(IK_B).verify(bundle[70:134], b"FerrySignedPrekey" + b"\x01" + bundle[34:38] + bundle[38:70])
assert int.from_bytes(bundle[134:138], 'big') == 9 and bundle[138:170] == raw(opk.public_key())

def parse_prekey(m):
    assert m[0] == 1 and m[1] == 2 and m[2] == 1
    ika, eka, spkid, opkid = m[3:35], m[35:67], int.from_bytes(m[67:71], 'big'), int.from_bytes(m[71:75], 'big')
    return ika, eka, spkid, opkid, m[75:]
ika, eka, spkid, opkid, inner = parse_prekey(m1)
assert spkid == spk_id == 77 and opkid == 9
IK_A_x = ed_pub_to_x(ika)
SK = hkdf(b"\0"*32, b"\xff"*32 + dh(spk, IK_A_x) + dh(bob_x, eka) + dh(spk, eka) + dh(opk, eka), b"Ferry_X3DH_25519_SHA256", 32)
AD = ika + IK_B
# Bob init
st = dict(DHs=spk, DHr=None, RK=SK, CKs=None, CKr=None, Ns=0, Nr=0, PN=0)
def decrypt(st, m):
    assert m[0] == 1 and m[1] == 1
    rk_pub, pn, n = m[2:34], int.from_bytes(m[34:38], 'big'), int.from_bytes(m[38:42], 'big')
    ct, mac = m[42:-32], m[-32:]
    if rk_pub != st['DHr']:
        st['PN'] = st['Ns']; st['Ns'] = 0; st['Nr'] = 0; st['DHr'] = rk_pub
        st['RK'], st['CKr'] = kdf_rk(st['RK'], dh(st['DHs'], rk_pub))
        st['DHs'] = X25519PrivateKey.generate()
        st['RK'], st['CKs'] = kdf_rk(st['RK'], dh(st['DHs'], rk_pub))
    while st['Nr'] < n:
        st['CKr'], _ = kdf_ck(st['CKr']); st['Nr'] += 1
    st['CKr'], seed = kdf_ck(st['CKr']); st['Nr'] += 1
    ck, mk, iv = mkeys(seed)
    assert hmac.compare_digest(hm(mk, AD + m[:-32]), mac), "MAC"
    d = Cipher(algorithms.AES(ck), modes.CBC(iv)).decryptor(); p = d.update(ct) + d.finalize()
    u = padding.PKCS7(128).unpadder(); return u.update(p) + u.finalize()
def encrypt(st, pt):
    st['CKs'], seed = kdf_ck(st['CKs']); ck, mk, iv = mkeys(seed)
    pd = padding.PKCS7(128).padder(); p = pd.update(pt) + pd.finalize()
    e = Cipher(algorithms.AES(ck), modes.CBC(iv)).encryptor(); ct = e.update(p) + e.finalize()
    body = b"\x01\x01" + raw(st['DHs'].public_key()) + st['PN'].to_bytes(4, 'big') + st['Ns'].to_bytes(4, 'big') + ct
    st['Ns'] += 1
    return body + hm(mk, AD + body)
print("bob got:", decrypt(st, inner))
_, _, _, _, inner2 = parse_prekey(m2)
print("bob got:", decrypt(st, inner2))
print(encrypt(st, b"reply one from python bob").hex(), encrypt(st, b"reply two").hex())
def digits(K):
    d = hashlib.sha512(b"\x00\x01" + b"ferry-safety-number" + K).digest()
    for _ in range(5200): d = hashlib.sha512(d + K).digest()
    return "".join("%05d" % (int.from_bytes(d[i*5:i*5+5], 'big') % 100000) for i in range(6))
a, b = digits(ika), digits(IK_B); print("safety", min(a, b) + max(a, b))
