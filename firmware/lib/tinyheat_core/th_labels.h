/**
 * @file th_labels.h
 * Labels for keys A, B, C, read from /labels.txt on the SD card (FORMAT.md section 3).
 *
 * Parsing rules (robust to hand-edited files):
 *  - lines end in LF, CRLF or CR; leading/trailing spaces and tabs are stripped;
 *  - blank lines and lines starting with '#' are skipped;
 *  - the first three remaining lines are the labels of keys A, B, C in that order;
 *  - a line that is not a valid label (1-31 chars of [A-Za-z0-9_-], no '.') keeps that key's
 *    default (face0, face1, env) and is reported in the status message;
 *  - missing lines keep their defaults; more than three lines are ignored (reported);
 *  - a NUL byte ends the text.
 */
#ifndef TH_LABELS_H
#define TH_LABELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TH_NUM_KEYS 3      /**< capture keys A, B, C */
#define TH_LABEL_MAX 31    /**< max label length in characters (FORMAT.md section 3) */

typedef struct {
    char name[TH_NUM_KEYS][TH_LABEL_MAX + 1]; /**< NUL-terminated labels for keys A, B, C */
} th_labels_t;

/** Default labels face0, face1, env. */
void th_labels_default(th_labels_t *labels);

/** 1 if s is a valid label: 1-31 chars from [A-Za-z0-9_-] (FORMAT.md section 3), else 0. */
int th_label_valid(const char *s);

/**
 * Parse the contents of labels.txt.
 * @param text    file bytes (need not be NUL-terminated); NULL with len 0 = missing file.
 * @param len     number of bytes.
 * @param labels  result; always fully set (defaults where the file gives no valid label).
 * @param status  human-readable summary for the screen, e.g. "labels: face0 face1 env (file)"
 *                or "labels.txt line 2 invalid -> face1"; may be NULL.
 * @param status_cap size of status in bytes (truncated, always NUL-terminated if > 0).
 * @return number of keys that got their label from the file (0..3); the others have defaults.
 */
int th_labels_parse(const char *text, size_t len, th_labels_t *labels, char *status, size_t status_cap);

#ifdef __cplusplus
}
#endif
#endif
