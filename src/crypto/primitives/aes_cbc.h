// AES-256-CBC with PKCS#7 padding (OpenSSL), the cipher of Signal's
// encrypt-then-MAC message format. Only ever used under a MAC that is checked
// first, so padding errors are never observable to an attacker.
#pragma once

#include "crypto/bytes.h"
#include "crypto/result.h"

namespace ferry::crypto {

// key: 32 bytes, iv: 16 bytes. Output length is a positive multiple of 16.
Result<Bytes> aes256_cbc_encrypt(ByteView key, ByteView iv, ByteView plaintext);
Result<Bytes> aes256_cbc_decrypt(ByteView key, ByteView iv, ByteView ciphertext);

}  // namespace ferry::crypto
