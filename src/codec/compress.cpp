#include "tiercel/codec/compress.hpp"

#include <lz4.h>
#include <lz4hc.h>
#include <zstd.h>

#include <memory>
#include <string>

namespace tiercel::codec {
namespace {

constexpr int zstd_default_level = 3;
constexpr int lz4_max_level = 12;

struct ZstdCctxFree {
    void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
};
struct ZstdDctxFree {
    void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

// One context per thread: they are expensive to create and not shareable between threads.
ZSTD_CCtx* thread_cctx() {
    thread_local std::unique_ptr<ZSTD_CCtx, ZstdCctxFree> ctx(ZSTD_createCCtx());
    return ctx.get();
}
ZSTD_DCtx* thread_dctx() {
    thread_local std::unique_ptr<ZSTD_DCtx, ZstdDctxFree> ctx(ZSTD_createDCtx());
    return ctx.get();
}

std::string size_text(std::size_t value) { return std::to_string(value) + " bytes"; }

Result<Bytes> zstd_compress(ByteView input, int level) {
    ZSTD_CCtx* ctx = thread_cctx();
    if (ctx == nullptr)
        return make_error(Errc::internal, "zstd: cannot allocate a compression context");
    ZSTD_CCtx_reset(ctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level == 0 ? zstd_default_level : level);
    // The content checksum lets decompress() catch a flipped byte; the content size lets it check the length first.
    ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 1);
    Bytes out(ZSTD_compressBound(input.size()));
    const std::size_t written = ZSTD_compress2(ctx, out.data(), out.size(), input.data(), input.size());
    if (ZSTD_isError(written))
        return make_error(Errc::internal, std::string("zstd compression failed: ") + ZSTD_getErrorName(written));
    out.resize(written);
    return out;
}

Result<Bytes> lz4_compress(ByteView input, int level) {
    const int input_size = static_cast<int>(input.size());
    Bytes out(static_cast<std::size_t>(LZ4_compressBound(input_size)));
    const auto* src = reinterpret_cast<const char*>(input.data());
    auto* dst = reinterpret_cast<char*>(out.data());
    const int capacity = static_cast<int>(out.size());
    const int written = level <= 1 ? LZ4_compress_default(src, dst, input_size, capacity)
                                   : LZ4_compress_HC(src, dst, input_size, capacity, level);
    if (written <= 0)
        return make_error(Errc::internal, "lz4 compression failed on " + size_text(input.size()));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

Result<Bytes> zstd_decompress(ByteView stored, std::size_t original_size) {
    const unsigned long long declared = ZSTD_getFrameContentSize(stored.data(), stored.size());
    if (declared == ZSTD_CONTENTSIZE_ERROR)
        return make_error(Errc::corruption, "zstd: stored data is not a zstd frame");
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != original_size)
        return make_error(Errc::corruption, "zstd: frame declares " + size_text(declared) + ", expected " +
                                                size_text(original_size));
    ZSTD_DCtx* ctx = thread_dctx();
    if (ctx == nullptr)
        return make_error(Errc::internal, "zstd: cannot allocate a decompression context");
    Bytes out(original_size);
    const std::size_t produced = ZSTD_decompressDCtx(ctx, out.data(), out.size(), stored.data(), stored.size());
    if (ZSTD_isError(produced))
        return make_error(Errc::corruption, std::string("zstd: ") + ZSTD_getErrorName(produced));
    if (produced != original_size)
        return make_error(Errc::corruption, "zstd: decoded " + size_text(produced) + ", expected " +
                                                size_text(original_size));
    return out;
}

Result<Bytes> lz4_decompress(ByteView stored, std::size_t original_size) {
    Bytes out(original_size);
    // LZ4_decompress_safe never writes past the capacity and rejects input that does not end exactly at a block end.
    const int produced = LZ4_decompress_safe(reinterpret_cast<const char*>(stored.data()),
                                             reinterpret_cast<char*>(out.data()), static_cast<int>(stored.size()),
                                             static_cast<int>(original_size));
    if (produced < 0)
        return make_error(Errc::corruption, "lz4: stored data is malformed");
    if (static_cast<std::size_t>(produced) != original_size)
        return make_error(Errc::corruption, "lz4: decoded " + size_text(static_cast<std::size_t>(produced)) +
                                                ", expected " + size_text(original_size));
    return out;
}

Result<Bytes> run_compressor(ByteView input, Compression algorithm, int level) {
    if (algorithm == Compression::zstd)
        return zstd_compress(input, level);
    return lz4_compress(input, level);
}

}  // namespace

std::string_view compression_name(Compression algorithm) {
    switch (algorithm) {
    case Compression::none: return "none";
    case Compression::zstd: return "zstd";
    case Compression::lz4: return "lz4";
    }
    return "unknown";
}

Result<Compression> parse_compression(std::string_view name) {
    for (Compression candidate : {Compression::none, Compression::zstd, Compression::lz4})
        if (name == compression_name(candidate))
            return candidate;
    return make_error(Errc::invalid_input,
                      "unknown compression \"" + std::string(name) + "\": valid values are none, zstd, lz4");
}

Result<Compression> compression_from_byte(std::uint8_t value) {
    if (value > static_cast<std::uint8_t>(Compression::lz4))
        return make_error(Errc::corruption, "unknown compression code " + std::to_string(value));
    return static_cast<Compression>(value);
}

Status validate_compression_level(Compression algorithm, int level) {
    int low = 0;
    int high = 0;
    if (algorithm == Compression::zstd) {
        low = ZSTD_minCLevel();
        high = ZSTD_maxCLevel();
    } else if (algorithm == Compression::lz4) {
        low = 0;
        high = lz4_max_level;
    } else {
        return {};
    }
    if (level < low || level > high)
        return make_error(Errc::invalid_input, std::string(compression_name(algorithm)) + " level " +
                                                   std::to_string(level) + " is out of range " +
                                                   std::to_string(low) + ".." + std::to_string(high));
    return {};
}

Result<Compressed> compress(ByteView input, Compression algorithm, int level) {
    if (input.size() > max_compress_input)
        return make_error(Errc::invalid_input, "compress: input of " + size_text(input.size()) +
                                                   " exceeds the limit of " + size_text(max_compress_input));
    TIERCEL_TRY(validate_compression_level(algorithm, level));
    if (algorithm != Compression::none && !input.empty()) {
        TIERCEL_ASSIGN(Bytes packed, run_compressor(input, algorithm, level));
        if (packed.size() < input.size())
            return Compressed{std::move(packed), algorithm};
    }
    return Compressed{Bytes(input.begin(), input.end()), Compression::none};
}

Result<Bytes> decompress(ByteView stored, Compression algorithm, std::size_t original_size) {
    if (original_size > max_compress_input)
        return make_error(Errc::corruption, "decompress: original size " + size_text(original_size) +
                                                " exceeds the limit of " + size_text(max_compress_input));
    switch (algorithm) {
    case Compression::none:
        if (stored.size() != original_size)
            return make_error(Errc::corruption, "uncompressed data holds " + size_text(stored.size()) +
                                                    ", expected " + size_text(original_size));
        return Bytes(stored.begin(), stored.end());
    case Compression::zstd: return zstd_decompress(stored, original_size);
    case Compression::lz4: return lz4_decompress(stored, original_size);
    }
    return make_error(Errc::corruption, "unknown compression code " +
                                            std::to_string(static_cast<unsigned>(algorithm)));
}

}  // namespace tiercel::codec
