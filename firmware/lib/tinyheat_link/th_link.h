/* tinyheat USB serial link: portable codec (framing, CRC-32, COBS, payload fields).
 *
 * Spec: PROTOCOL.md in this folder (the one written contract; the Python side is
 * tinyheat.link.protocol). No Arduino headers, no malloc: every buffer is fixed-size
 * and owned by the caller. All multi-byte fields are little-endian.
 */
#ifndef TH_LINK_H
#define TH_LINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TH_LINK_PROTO_VERSION 1u
/** Bytes of type + seq + payload (PROTOCOL.md section 1). */
#define TH_LINK_MAX_MSG 1600u
#define TH_LINK_HEADER_LEN 3u /* type:u8 seq:u16 */
#define TH_LINK_CRC_LEN 4u
#define TH_LINK_MAX_PAYLOAD (TH_LINK_MAX_MSG - TH_LINK_HEADER_LEN)
/** Decoded bytes of one frame: message + CRC-32. */
#define TH_LINK_MAX_RAW (TH_LINK_MAX_MSG + TH_LINK_CRC_LEN)
/** Encoded bytes of one frame including the 0x00 delimiter (COBS adds ceil(n/254)). */
#define TH_LINK_MAX_WIRE (TH_LINK_MAX_RAW + (TH_LINK_MAX_RAW + 253u) / 254u + 1u)

#define TH_LINK_PIXELS 768
#define TH_LINK_CDEGC_INVALID (-32768)
#define TH_LINK_MAX_LABELS 8
#define TH_LINK_LABEL_CAP 32 /* 31 characters + NUL */
#define TH_LINK_MAX_LOG_TEXT 240
#define TH_LINK_FW_VERSION_CAP 32

/* Message types, PROTOCOL.md sections 2 and 3. */
enum {
    TH_LINK_T_HELLO = 0x01,
    TH_LINK_T_FRAME = 0x02,
    TH_LINK_T_PREDICTION = 0x03,
    TH_LINK_T_CAPTURE = 0x04,
    TH_LINK_T_LOG = 0x05,
    TH_LINK_T_EEPROM = 0x06,
    TH_LINK_T_SET_MODE = 0x81,
    TH_LINK_T_CAPTURE_NOW = 0x82,
    TH_LINK_T_SET_LABELS = 0x83,
    TH_LINK_T_SET_RATE = 0x84,
    TH_LINK_T_PING = 0x85,
    TH_LINK_T_GET_EEPROM = 0x86
};

/** EEPROM message: words per message (two messages carry the 832-word image). */
#define TH_LINK_EEPROM_WORDS 832
#define TH_LINK_EEPROM_CHUNK 416
/** HELLO stats counter not known by the device. */
#define TH_LINK_STAT_UNKNOWN 0xFFFFFFFFu

/* HELLO status values. */
enum {
    TH_LINK_ST_OK = 0,
    TH_LINK_ST_BAD_ARG = 1,
    TH_LINK_ST_REFUSED = 2,
    TH_LINK_ST_UNSOLICITED = 0xFF
};

/* Device modes (PROTOCOL.md "Modes"), the values of th_mode_t in tinyheat_core/th_app.h. */
enum {
    TH_LINK_MODE_COLLECT = 0,
    TH_LINK_MODE_CLASSIFY = 1,
    TH_LINK_MODE_STREAM = 2,
    TH_LINK_MODE_COUNT = 3
};

/** zlib-compatible CRC-32 (IEEE 802.3, reflected 0xEDB88320): pass crc = 0 to start. */
uint32_t th_link_crc32(uint32_t crc, const uint8_t *data, size_t n);

/** COBS-encode n bytes (as the Python `cobs` package does). Returns the encoded length
 *  (<= n + ceil(n/254) + 1, no delimiter), or 0 if out_cap is too small. */
size_t th_link_cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t out_cap);

/** Build a complete wire frame: COBS(type | seq | payload | crc32) 0x00.
 *  Returns bytes written to wire, or 0 if the payload exceeds TH_LINK_MAX_PAYLOAD or
 *  wire_cap (use TH_LINK_MAX_WIRE) is too small. */
size_t th_link_frame(uint8_t type, uint16_t seq, const uint8_t *payload, size_t n,
                     uint8_t *wire, size_t wire_cap);

/** Receiver counters, PROTOCOL.md section 1 "Receiver rules". */
typedef struct {
    uint32_t ok;
    uint32_t crc_errors;
    uint32_t cobs_errors;
    uint32_t oversize;
    uint32_t short_frames;
} th_link_rx_stats_t;

/** A received message; payload points into the decoder's buffer and is valid until the
 *  next th_link_decoder_feed() call. */
typedef struct {
    uint8_t type;
    uint16_t seq;
    const uint8_t *payload;
    uint16_t len;
} th_link_msg_t;

/** Byte-at-a-time COBS/CRC decoder with a bounded buffer (TH_LINK_MAX_RAW bytes, ~1.6 KB). */
typedef struct {
    uint8_t buf[TH_LINK_MAX_RAW];
    uint16_t len;       /* decoded bytes so far */
    uint8_t code_left;  /* data bytes left in the current COBS block */
    uint8_t last_code;  /* code byte of the current block, 0 before the first */
    uint8_t discarding; /* oversize: skip up to the next 0x00 */
    th_link_rx_stats_t stats;
} th_link_decoder_t;

void th_link_decoder_init(th_link_decoder_t *d);
/** Feed one byte. Returns 1 and fills *msg when the byte completes a valid message, else 0.
 *  Never fails otherwise: bad frames are counted in d->stats and dropped. */
int th_link_decoder_feed(th_link_decoder_t *d, uint8_t byte, th_link_msg_t *msg);

/* ---- payload fields ---------------------------------------------------------------- */

/** Bounded little-endian writer; `overflow` is set (and writes stop) when cap is reached. */
typedef struct {
    uint8_t *p;
    size_t cap, len;
    int overflow;
} th_link_writer_t;

void th_link_w_init(th_link_writer_t *w, uint8_t *buf, size_t cap);
void th_link_w_u8(th_link_writer_t *w, uint8_t v);
void th_link_w_u16(th_link_writer_t *w, uint16_t v);
void th_link_w_u32(th_link_writer_t *w, uint32_t v);
void th_link_w_f32(th_link_writer_t *w, float v);
/** str8: length byte + bytes of the NUL-terminated s, truncated to max_len (<= 255). */
void th_link_w_str8(th_link_writer_t *w, const char *s, size_t max_len);
void th_link_w_bytes(th_link_writer_t *w, const void *data, size_t n);

/** Bounded reader; `error` is set when a field runs past the end. */
typedef struct {
    const uint8_t *p;
    size_t len, pos;
    int error;
} th_link_reader_t;

void th_link_r_init(th_link_reader_t *r, const uint8_t *buf, size_t len);
uint8_t th_link_r_u8(th_link_reader_t *r);
uint16_t th_link_r_u16(th_link_reader_t *r);
uint32_t th_link_r_u32(th_link_reader_t *r);
float th_link_r_f32(th_link_reader_t *r);
/** Read a str8 into out (cap bytes incl. NUL); error if it does not fit. */
void th_link_r_str8(th_link_reader_t *r, char *out, size_t cap);

/** degC (float) -> centi-degC int16, PROTOCOL.md FRAME: floor(T*100f + 0.5f) in float32,
 *  TH_LINK_CDEGC_INVALID (-32768) for NaN/inf/out of -32767..32767. */
int16_t th_link_cdegc(float t_degc);

/** 1 if s is a valid label: 1..31 characters of [A-Za-z0-9_-] (datasets/FORMAT.md). */
int th_link_label_ok(const char *s);

/* ---- messages ---------------------------------------------------------------------- */

/** HELLO model identity: at most 63 bytes of text + NUL. */
#define TH_LINK_MODEL_ID_CAP 64

/** HELLO fields (PROTOCOL.md section 2). Strings are NUL-terminated. */
typedef struct {
    uint8_t status;
    uint16_t ack_seq;
    uint8_t mode;
    uint8_t rate_code;
    float emissivity;
    uint32_t session;
    char fw_version[TH_LINK_FW_VERSION_CAP];
    uint8_t n_model;
    char model_labels[TH_LINK_MAX_LABELS][TH_LINK_LABEL_CAP];
    uint8_t n_capture;
    char capture_labels[TH_LINK_MAX_LABELS][TH_LINK_LABEL_CAP];
    uint8_t current; /* 0xFF none */
    /* optional trailer (PROTOCOL.md HELLO "run statistics"), sent when has_stats = 1 */
    uint8_t has_stats;
    uint16_t fps_x100;          /* full frames per second x 100 over the last statistics period */
    uint32_t frames;            /* full frames read since boot */
    uint32_t dropped_subpages;  /* TH_LINK_STAT_UNKNOWN if not known */
    uint32_t i2c_errors;        /* TH_LINK_STAT_UNKNOWN if not known */
    uint32_t sensor_errors;     /* failed frame reads seen by the device loop */
    uint16_t sensor_reinits;    /* sensor re-initialisations after errors or re-plugging */
    uint32_t tx_dropped;        /* device messages the transport did not accept */
    /* optional identity trailer after the statistics (PROTOCOL.md HELLO), sent when has_identity = 1
     * (needs has_stats = 1) */
    uint8_t has_identity;
    uint8_t rows, cols;         /* sensor frame geometry: 24 x 32 (MLX90640) or 12 x 16 (MLX90641) */
    char model_id[TH_LINK_MODEL_ID_CAP]; /* "<name> crc32:<8 hex>" of the compiled-in model, "" none */
} th_link_hello_t;

/** Payload builders: return the payload length written to buf (cap >= TH_LINK_MAX_PAYLOAD
 *  always suffices), 0 on overflow. */
size_t th_link_build_hello(const th_link_hello_t *h, uint8_t *buf, size_t cap);
/** temps: 768 degC row-major (24 x 32); payload is 1542 bytes. */
size_t th_link_build_frame(uint32_t t_ms, float ta_degc, const float *temps, uint8_t *buf, size_t cap);
/** FRAME of n = 768 (32 x 24, MLX90640) or 192 (16 x 12, MLX90641: payload 390 bytes) values; 0 otherwise. */
#define TH_LINK_PIXELS_16X12 192
size_t th_link_build_frame_n(uint32_t t_ms, float ta_degc, const float *temps, int n, uint8_t *buf, size_t cap);
size_t th_link_build_prediction(uint32_t t_ms, int label_index, float confidence,
                                uint32_t inference_us, uint8_t *buf, size_t cap);
size_t th_link_build_capture(int ok, int32_t index, const char *label, uint8_t *buf, size_t cap);
/** level 0 debug, 1 info, 2 warn, 3 error; text truncated to TH_LINK_MAX_LOG_TEXT bytes. */
size_t th_link_build_log(int level, const char *text, uint8_t *buf, size_t cap);

/** EEPROM (0x06): `offset:u16 words:u16[n]`, n = count (1..TH_LINK_EEPROM_CHUNK). */
size_t th_link_build_eeprom(uint16_t offset, const uint16_t *words, size_t count, uint8_t *buf, size_t cap);

/** A parsed host command (types 0x81..0x86). */
typedef struct {
    uint8_t type;
    uint16_t seq;
    uint8_t mode;      /* SET_MODE */
    uint8_t rate_code; /* SET_RATE */
    char label[TH_LINK_LABEL_CAP]; /* CAPTURE_NOW ("" = current label) */
    uint8_t n_labels;  /* SET_LABELS */
    char labels[TH_LINK_MAX_LABELS][TH_LINK_LABEL_CAP];
} th_link_cmd_t;

enum { TH_LINK_PARSE_OK = 0, TH_LINK_PARSE_BAD = 1, TH_LINK_PARSE_UNKNOWN = 2 };

/** Parse a host command; TH_LINK_PARSE_BAD for a short payload or an invalid field
 *  (mode >= TH_LINK_MODE_COUNT, rate_code > 7, bad label, 0 or > 8 labels),
 *  TH_LINK_PARSE_UNKNOWN for a type that is not a host command. */
int th_link_parse_command(const th_link_msg_t *msg, th_link_cmd_t *cmd);

#ifdef __cplusplus
}
#endif
#endif /* TH_LINK_H */
