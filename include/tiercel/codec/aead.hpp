// Contract: authenticated encryption for stripe payloads with libsodium's XChaCha20-Poly1305 (IETF variant) and a
// 256-bit key derived from a passphrase with Argon2id (crypto_pwhash, ALG_ARGON2ID13).
//
// seal() draws a fresh random 24-byte nonce for every call. With XChaCha20's 192-bit nonce, random nonces are safe:
// the chance of a repeat stays negligible (about 2^-96 after 2^48 messages under one key), so no nonce counter has to
// be stored or kept crash-consistent. The sealed form is nonce (24) ‖ ciphertext (same length as plaintext) ‖
// Poly1305 tag (16). open() authenticates before it returns anything: a wrong key, wrong AAD, truncation or any
// flipped byte is Errc::corruption with a message containing "authentication failed" — there is no way to tell
// these apart from the ciphertext alone. To tell a wrong passphrase from damaged data, the pool stores
// key_check_value() in its labels and compares with verify_key_check() (Errc::permission on mismatch) first.
//
// KdfParams are stored in the pool labels; they must be kept exactly or the key cannot be derived again. Defaults
// are libsodium's MODERATE limits (opslimit 3, memlimit 256 MiB: roughly a second of one core), the recommended
// interactive-but-careful setting for a key derived once at mount. Tests use the MIN limits.
//
// sodium_init() runs once, on first use, under std::call_once. AeadKey wipes its bytes when destroyed. Every
// function is safe to call from several threads at once.
#pragma once

#include "tiercel/codec/bytes.hpp"
#include "tiercel/core/error.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tiercel::codec {

inline constexpr std::size_t aead_key_size = 32;
inline constexpr std::size_t aead_nonce_size = 24;
inline constexpr std::size_t aead_tag_size = 16;
inline constexpr std::size_t aead_overhead = aead_nonce_size + aead_tag_size;  // sealed = plaintext + 40
inline constexpr std::size_t kdf_salt_size = 16;
inline constexpr std::size_t key_check_size = 32;

using KdfSalt = std::array<std::uint8_t, kdf_salt_size>;
using KeyCheckValue = std::array<std::uint8_t, key_check_size>;

struct KdfParams {
    KdfSalt salt{};
    std::uint64_t opslimit = 3;             // crypto_pwhash_argon2id_OPSLIMIT_MODERATE
    std::uint64_t memlimit = 268435456;     // crypto_pwhash_argon2id_MEMLIMIT_MODERATE (bytes)

    // Default limits with a fresh random salt: what `pool create` stores.
    static Result<KdfParams> with_random_salt();
    bool operator==(const KdfParams&) const = default;
};

// invalid_input when a limit is outside Argon2id's accepted range.
Status validate_kdf_params(const KdfParams& params);

// Makes sure libsodium is initialised (once per process); internal error if it cannot be.
Status ensure_sodium();

class AeadKey {
public:
    // Argon2id(passphrase, params). An empty passphrase is invalid_input; memory exhaustion is internal.
    static Result<AeadKey> derive(std::string_view passphrase, const KdfParams& params);
    // Wraps raw key bytes (exactly 32) — for keys that come from elsewhere, and for tests.
    static Result<AeadKey> from_bytes(ByteView raw);

    AeadKey(const AeadKey&) = default;
    AeadKey& operator=(const AeadKey&) = default;
    ~AeadKey();

    // BLAKE2b-256 keyed with this key over the fixed string "tiercel key check v1". A keyed hash is a PRF, so
    // publishing it in a label reveals nothing usable about the key, yet a wrong passphrase yields another value.
    KeyCheckValue key_check_value() const;
    // Errc::permission "wrong passphrase or key" when `stored` is not this key's check value (constant time).
    Status verify_key_check(const KeyCheckValue& stored) const;

    const std::uint8_t* data() const { return bytes_.data(); }

private:
    AeadKey() = default;
    std::array<std::uint8_t, aead_key_size> bytes_{};
};

// nonce ‖ ciphertext ‖ tag, binding `aad` (authenticated, not stored).
Result<Bytes> seal(const AeadKey& key, ByteView plaintext, ByteView aad);
// The plaintext, or Errc::corruption "authentication failed ..." — never unauthenticated bytes.
Result<Bytes> open(const AeadKey& key, ByteView sealed, ByteView aad);

}  // namespace tiercel::codec
