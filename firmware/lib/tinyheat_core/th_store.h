/**
 * @file th_store.h
 * Sample naming and storage policy on the SD card (FORMAT.md section 3):
 * `<label>.<N>.jpg` + `<label>.<N>.pgm`, the next free N per label found at boot from a
 * directory listing, never overwriting (exclusive create; if a name exists the next N is
 * taken), the `captures.csv` log and the boot/session id kept in `/session.txt`.
 *
 * The file system is reached only through th_fs_ops_t, so the same policy runs on the SD
 * card (firmware/src/storage_sd.cpp) and on a temp directory in the host tests.
 * Per-label counters live in RAM in th_store_t and only ever grow, so a removed or
 * re-inserted card never makes the device reuse an index it has already written.
 */
#ifndef TH_STORE_H
#define TH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "th_frame.h"
#include "th_labels.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Result codes of the file-system adapter and the store. */
typedef enum {
    TH_FS_OK = 0,
    TH_FS_EXISTS = -1,  /**< exclusive create: the name already exists (nothing written) */
    TH_FS_IO = -2,      /**< write/read error or short write (card full, card removed, ...) */
    TH_FS_NO_CARD = -3, /**< no card / file system not mounted */
    TH_FS_BAD_ARG = -4  /**< invalid label, name too long, buffer too small */
} th_fs_result_t;

/**
 * File-system adapter. Names are bare file names in the card's root ("face0.3.jpg").
 * Every function returns a th_fs_result_t. ctx is passed back unchanged.
 */
typedef struct {
    void *ctx;
    /** 1 if the name exists, 0 if not (or no card). */
    int (*exists)(void *ctx, const char *name);
    /** Create name with exactly these bytes; never replace an existing file (TH_FS_EXISTS).
     *  On failure nothing may be left under name. */
    int (*create_exclusive)(void *ctx, const char *name, const uint8_t *data, size_t len);
    /** Append bytes to name, creating it if missing. */
    int (*append)(void *ctx, const char *name, const uint8_t *data, size_t len);
    /** Call on_name(cb_ctx, bare_name) for every file in the root directory. */
    int (*list)(void *ctx, void (*on_name)(void *cb_ctx, const char *name), void *cb_ctx);
} th_fs_ops_t;

/** Longest stem "label.N" + ".jpg" + NUL: 31 + 1 + 10 + 4 + 1. */
#define TH_NAME_MAX 48

/** Labels outside the keys whose next free N is cached (host CAPTUREs with any label), so a
 *  capture lists the card once per label and mount, not every time. */
#define TH_STORE_CACHED_LABELS 8

typedef struct {
    char label[TH_LABEL_MAX + 1]; /**< "" = free slot */
    uint32_t next;                /**< next free N, only grows while cached */
} th_store_label_index_t;

typedef struct {
    uint32_t next_index[TH_NUM_KEYS]; /**< next free N per key's label, only grows */
    th_store_label_index_t other[TH_STORE_CACHED_LABELS]; /**< cached N of other labels (round robin) */
    uint8_t other_next_slot;          /**< slot the next new label replaces */
    uint32_t label_listings;          /**< card listings done for labels not cached (statistics) */
    th_labels_t labels;               /**< labels of keys A, B, C */
    uint32_t session;                 /**< boot id (FORMAT.md: 8 lower-case hex digits) */
} th_store_t;

/** Outcome of a save. */
typedef struct {
    int result;             /**< th_fs_result_t of the sample (.jpg) */
    int sidecar_result;     /**< th_fs_result_t of the .pgm (TH_FS_EXISTS: a stray .pgm kept, not overwritten) */
    int log_result;         /**< th_fs_result_t of the captures.csv append */
    uint32_t index;         /**< N used (valid when result == TH_FS_OK) */
    char jpg_name[TH_NAME_MAX];
} th_save_result_t;

/** Initialise counters to 0, labels as given, session id. */
void th_store_init(th_store_t *st, const th_labels_t *labels, uint32_t session);

/**
 * Parse a sample file name "<label>.<N>.jpg" or "<label>.<N>.pgm" (N: decimal, no leading
 * zeros, < 1e9). @return 1 and fills label (32 bytes) and index, or 0 if it is not one.
 */
int th_parse_sample_name(const char *name, char label[TH_LABEL_MAX + 1], uint32_t *index);

/** Feed one directory entry (bare name) from the boot listing: raises the matching key's
 *  next_index to N + 1. Other names are ignored. */
void th_store_scan_name(th_store_t *st, const char *name);

/** Re-read the directory listing through fs->list and raise the counters (never lowers them).
 *  Call at boot and after a card is (re)inserted. @return th_fs_result_t of the listing. */
int th_store_rescan(th_store_t *st, const th_fs_ops_t *fs);

/** Change the labels (e.g. host command). A key whose label changes restarts its counter at 0;
 *  call th_store_rescan afterwards to find that label's existing files. */
void th_store_set_labels(th_store_t *st, const th_labels_t *labels);

/** Format "<label>.<index>.<ext>" into buf. @return length, or -1 if invalid label or too small. */
int th_sample_name(char *buf, size_t cap, const char *label, uint32_t index, const char *ext);

/** captures.csv header row, with "\n". */
#define TH_CAPTURES_CSV "captures.csv"
#define TH_CAPTURES_HEADER "file,label,index,session,millis,ta_degC\n"

/**
 * Format one captures.csv row (FORMAT.md section 3) with "\n":
 * "face0.12.jpg,face0,12,0000002a,183422,24.61". ta_degc NaN/inf -> empty field; otherwise
 * 2 decimals, rounded half away from zero. @return length, or -1 if cap too small.
 */
int th_captures_row(char *buf, size_t cap, const char *jpg_name, const char *label, uint32_t index,
                    uint32_t session, uint32_t millis, float ta_degc);

/**
 * Save one sample with the never-overwrite policy:
 * pick N = next_index of the key's label (for a label not on a key: its cached N, else max
 * existing N + 1 from one fs->list, then cached in `other`), skipping any N whose .jpg or .pgm exists; create the
 * .jpg exclusively (on TH_FS_EXISTS try N + 1, up to 64 times), then the .pgm sidecar
 * exclusively (if temps != NULL), then append the captures.csv row (with header if the file is new).
 *
 * @param key       0..2 for keys A, B, C, or -1 to use `label` (host capture command)
 * @param label     used when key < 0; must be valid
 * @param jpg       the encoded greyscale JPEG, jpg_len bytes (> 0)
 * @param temps     768 degC for the sidecar, or NULL for none
 * @param millis    ms since boot; ta_degc ambient temperature Ta (NaN if unknown)
 * @return TH_FS_OK or the error of the .jpg (then nothing was written and no counter moved:
 *         a retry will use the same N). Sidecar/log errors do not fail the sample.
 */
int th_store_save(th_store_t *st, const th_fs_ops_t *fs, int key, const char *label,
                  const uint8_t *jpg, size_t jpg_len, const float *temps,
                  uint32_t millis, float ta_degc, th_save_result_t *res);

/** Session ids: parse /session.txt contents (hex, optional whitespace) and return the id for
 *  this boot = previous + 1; a missing (len 0) or unreadable file gives 1. */
uint32_t th_session_next(const char *text, size_t len);

/** Format a session id as 8 lower-case hex digits + NUL into buf[9]. */
void th_session_format(uint32_t session, char buf[9]);

#ifdef __cplusplus
}
#endif
#endif
