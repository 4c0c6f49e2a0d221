// Sealed data must open only with the right key and AAD; a wrong passphrase must be recognisable as such.
#include "tiercel/codec/aead.hpp"

#include <sodium.h>

#include <doctest/doctest.h>

#include <string>

using namespace tiercel;
using namespace tiercel::codec;

namespace {

// Argon2id's minimum limits keep the tests fast; production uses KdfParams' defaults.
KdfParams test_params(std::uint8_t salt_byte) {
    KdfParams params;
    params.salt.fill(salt_byte);
    params.opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    params.memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
    return params;
}

AeadKey test_key(std::string_view passphrase, std::uint8_t salt_byte = 1) {
    auto key = AeadKey::derive(passphrase, test_params(salt_byte));
    REQUIRE(key.ok());
    return *key;
}

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

bool says_authentication_failed(const Error& error) {
    return error.code() == Errc::corruption && error.message().find("authentication failed") != std::string::npos;
}

}  // namespace

TEST_CASE("seal then open returns the plaintext; the sealed form is nonce + ciphertext + tag") {
    const AeadKey key = test_key("correct horse");
    const Bytes plaintext = text("stripe payload bytes");
    const Bytes aad = text("pool|stripe|generation");
    auto sealed = seal(key, plaintext, aad);
    REQUIRE(sealed.ok());
    CHECK(sealed->size() == plaintext.size() + aead_overhead);
    auto opened = open(key, *sealed, aad);
    REQUIRE(opened.ok());
    CHECK(*opened == plaintext);
}

TEST_CASE("empty plaintext seals and opens") {
    const AeadKey key = test_key("p");
    auto sealed = seal(key, Bytes{}, Bytes{});
    REQUIRE(sealed.ok());
    CHECK(sealed->size() == aead_overhead);
    auto opened = open(key, *sealed, Bytes{});
    REQUIRE(opened.ok());
    CHECK(opened->empty());
}

TEST_CASE("two seals of the same plaintext differ (fresh random nonce)") {
    const AeadKey key = test_key("k");
    auto a = seal(key, text("same"), Bytes{});
    auto b = seal(key, text("same"), Bytes{});
    REQUIRE((a.ok() && b.ok()));
    CHECK(*a != *b);
}

TEST_CASE("wrong key, wrong AAD, any flipped byte or truncation fail with authentication failed") {
    const AeadKey key = test_key("right");
    const Bytes aad = text("aad");
    auto sealed = seal(key, text("secret data"), aad);
    REQUIRE(sealed.ok());
    CHECK(says_authentication_failed(open(test_key("wrong"), *sealed, aad).error()));
    CHECK(says_authentication_failed(open(test_key("right", 2), *sealed, aad).error()));  // other salt
    CHECK(says_authentication_failed(open(key, *sealed, text("aaD")).error()));
    for (std::size_t i = 0; i < sealed->size(); ++i) {
        Bytes damaged = *sealed;
        damaged[i] ^= 0x01;
        CHECK(says_authentication_failed(open(key, damaged, aad).error()));
    }
    Bytes truncated(sealed->begin(), sealed->end() - 1);
    CHECK(says_authentication_failed(open(key, truncated, aad).error()));
    CHECK(says_authentication_failed(open(key, Bytes(10), aad).error()));
}

TEST_CASE("key derivation is deterministic for the same passphrase and params") {
    const AeadKey a = test_key("same passphrase");
    const AeadKey b = test_key("same passphrase");
    auto sealed = seal(a, text("x"), Bytes{});
    REQUIRE(sealed.ok());
    CHECK(open(b, *sealed, Bytes{}).ok());
    CHECK(a.key_check_value() == b.key_check_value());
}

TEST_CASE("the key check value tells a wrong passphrase apart") {
    const AeadKey right = test_key("right");
    const KeyCheckValue stored = right.key_check_value();
    CHECK(right.verify_key_check(stored).ok());
    const Status wrong = test_key("wrong").verify_key_check(stored);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().code() == Errc::permission);
    CHECK(wrong.error().message().find("wrong passphrase") != std::string::npos);
}

TEST_CASE("bad KDF inputs are invalid input") {
    CHECK(AeadKey::derive("", test_params(1)).error().code() == Errc::invalid_input);
    KdfParams params = test_params(1);
    params.opslimit = 0;
    CHECK(AeadKey::derive("p", params).error().code() == Errc::invalid_input);
    params = test_params(1);
    params.memlimit = 1024;
    CHECK(AeadKey::derive("p", params).error().code() == Errc::invalid_input);
    CHECK(AeadKey::from_bytes(Bytes(31)).error().code() == Errc::invalid_input);
    CHECK(AeadKey::from_bytes(Bytes(32)).ok());
}

TEST_CASE("random salts differ and default limits are libsodium's MODERATE") {
    auto a = KdfParams::with_random_salt();
    auto b = KdfParams::with_random_salt();
    REQUIRE((a.ok() && b.ok()));
    CHECK(a->salt != b->salt);
    CHECK(a->opslimit == crypto_pwhash_argon2id_OPSLIMIT_MODERATE);
    CHECK(a->memlimit == crypto_pwhash_argon2id_MEMLIMIT_MODERATE);
}
