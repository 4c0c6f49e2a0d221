#include "tiercel/codec/aead.hpp"

#include <sodium.h>

#include <algorithm>
#include <mutex>
#include <string>

namespace tiercel::codec {
namespace {

static_assert(aead_key_size == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(aead_nonce_size == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(aead_tag_size == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(kdf_salt_size == crypto_pwhash_argon2id_SALTBYTES);
static_assert(KdfParams{}.opslimit == crypto_pwhash_argon2id_OPSLIMIT_MODERATE);
static_assert(KdfParams{}.memlimit == crypto_pwhash_argon2id_MEMLIMIT_MODERATE);

constexpr std::string_view key_check_message = "tiercel key check v1";

}  // namespace

Status ensure_sodium() {
    static std::once_flag once;
    static int init_result = -1;
    std::call_once(once, [] { init_result = sodium_init(); });
    // 0 = initialised now, 1 = already initialised elsewhere in the process; both are fine.
    if (init_result < 0)
        return make_error(Errc::internal, "libsodium failed to initialise");
    return {};
}

Result<KdfParams> KdfParams::with_random_salt() {
    TIERCEL_TRY(ensure_sodium());
    KdfParams params;
    randombytes_buf(params.salt.data(), params.salt.size());
    return params;
}

Status validate_kdf_params(const KdfParams& params) {
    if (params.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN || params.opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX)
        return make_error(Errc::invalid_input, "Argon2id opslimit " + std::to_string(params.opslimit) +
                                                   " is out of range " +
                                                   std::to_string(crypto_pwhash_argon2id_OPSLIMIT_MIN) + ".." +
                                                   std::to_string(crypto_pwhash_argon2id_OPSLIMIT_MAX));
    if (params.memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
        params.memlimit > static_cast<std::uint64_t>(crypto_pwhash_argon2id_MEMLIMIT_MAX))
        return make_error(Errc::invalid_input, "Argon2id memlimit " + std::to_string(params.memlimit) +
                                                   " bytes is out of range " +
                                                   std::to_string(crypto_pwhash_argon2id_MEMLIMIT_MIN) + ".." +
                                                   std::to_string(crypto_pwhash_argon2id_MEMLIMIT_MAX));
    return {};
}

AeadKey::~AeadKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

Result<AeadKey> AeadKey::derive(std::string_view passphrase, const KdfParams& params) {
    TIERCEL_TRY(ensure_sodium());
    if (passphrase.empty())
        return make_error(Errc::invalid_input, "the passphrase is empty");
    TIERCEL_TRY(validate_kdf_params(params));
    AeadKey key;
    if (crypto_pwhash(key.bytes_.data(), key.bytes_.size(), passphrase.data(), passphrase.size(),
                      params.salt.data(), params.opslimit, static_cast<std::size_t>(params.memlimit),
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return make_error(Errc::internal, "Argon2id key derivation ran out of memory (memlimit " +
                                              std::to_string(params.memlimit) + " bytes)");
    return key;
}

Result<AeadKey> AeadKey::from_bytes(ByteView raw) {
    TIERCEL_TRY(ensure_sodium());
    if (raw.size() != aead_key_size)
        return make_error(Errc::invalid_input, "an AEAD key is " + std::to_string(aead_key_size) + " bytes, got " +
                                                   std::to_string(raw.size()));
    AeadKey key;
    std::copy(raw.begin(), raw.end(), key.bytes_.begin());
    return key;
}

KeyCheckValue AeadKey::key_check_value() const {
    KeyCheckValue value{};
    crypto_generichash(value.data(), value.size(), reinterpret_cast<const unsigned char*>(key_check_message.data()),
                       key_check_message.size(), bytes_.data(), bytes_.size());
    return value;
}

Status AeadKey::verify_key_check(const KeyCheckValue& stored) const {
    const KeyCheckValue mine = key_check_value();
    if (sodium_memcmp(mine.data(), stored.data(), mine.size()) != 0)
        return make_error(Errc::permission, "wrong passphrase or key: key check value does not match");
    return {};
}

Result<Bytes> seal(const AeadKey& key, ByteView plaintext, ByteView aad) {
    TIERCEL_TRY(ensure_sodium());
    Bytes sealed(aead_nonce_size + plaintext.size() + aead_tag_size);
    randombytes_buf(sealed.data(), aead_nonce_size);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data() + aead_nonce_size, &written, plaintext.data(),
                                               plaintext.size(), aad.data(), aad.size(), nullptr, sealed.data(),
                                               key.data());
    sealed.resize(aead_nonce_size + written);
    return sealed;
}

Result<Bytes> open(const AeadKey& key, ByteView sealed, ByteView aad) {
    TIERCEL_TRY(ensure_sodium());
    if (sealed.size() < aead_overhead)
        return make_error(Errc::corruption, "authentication failed: sealed data of " +
                                                std::to_string(sealed.size()) + " bytes is shorter than nonce and tag");
    // One spare byte keeps data() non-null for an empty plaintext.
    Bytes plaintext(sealed.size() - aead_overhead + 1);
    unsigned long long produced = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plaintext.data(), &produced, nullptr,
                                                   sealed.data() + aead_nonce_size, sealed.size() - aead_nonce_size,
                                                   aad.data(), aad.size(), sealed.data(), key.data()) != 0)
        return make_error(Errc::corruption,
                          "authentication failed: wrong key, wrong associated data, or damaged ciphertext");
    plaintext.resize(produced);
    return plaintext;
}

}  // namespace tiercel::codec
