# Workload "rsa": RSA signatures with the cryptography package (OpenSSL's bignum code: MULX/ADX where the
# CPU has them). A 1024-bit key keeps one signature short. READY, then signs and verifies until killed.
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
pub = key.public_key()
msg = b"pygration evaluation message"
pad = padding.PKCS1v15()
sig = key.sign(msg, pad, hashes.SHA256())
pub.verify(sig, msg, pad, hashes.SHA256())
print("READY", flush=True)
while True:
    sig = key.sign(msg, pad, hashes.SHA256())
    for _ in range(4):
        pub.verify(sig, msg, pad, hashes.SHA256())
