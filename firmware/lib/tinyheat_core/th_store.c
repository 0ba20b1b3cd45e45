/* Sample naming and storage policy. See th_store.h. */
#include "th_store.h"
#include "th_text.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define TH_MAX_INDEX 999999999u /* N below 1e9 (9 digits), as tinyheat.dataset.sample_format */
#define TH_CREATE_TRIES 64

void th_store_init(th_store_t *st, const th_labels_t *labels, uint32_t session)
{
    memset(st, 0, sizeof *st);
    st->labels = *labels;
    st->session = session;
}

int th_parse_sample_name(const char *name, char label[TH_LABEL_MAX + 1], uint32_t *index)
{
    const char *dot1, *p;
    size_t lab_len, n_len;
    uint32_t n = 0;
    if (name == NULL) return 0;
    dot1 = strchr(name, '.');
    if (dot1 == NULL) return 0;
    lab_len = (size_t)(dot1 - name);
    if (lab_len < 1 || lab_len > TH_LABEL_MAX) return 0;
    for (p = name; p < dot1; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    p = dot1 + 1;
    n_len = 0;
    while (p[n_len] >= '0' && p[n_len] <= '9') n_len++;
    if (n_len < 1 || n_len > 9) return 0;
    if (n_len > 1 && p[0] == '0') return 0; /* no leading zeros */
    if (strcmp(p + n_len, ".jpg") != 0 && strcmp(p + n_len, ".pgm") != 0) return 0;
    for (size_t i = 0; i < n_len; i++) n = n * 10u + (uint32_t)(p[i] - '0');
    memcpy(label, name, lab_len);
    label[lab_len] = '\0';
    *index = n;
    return 1;
}

void th_store_scan_name(th_store_t *st, const char *name)
{
    char label[TH_LABEL_MAX + 1];
    uint32_t n;
    int k;
    if (!th_parse_sample_name(name, label, &n)) return;
    for (k = 0; k < TH_NUM_KEYS; k++)
        if (strcmp(label, st->labels.name[k]) == 0 && n + 1 > st->next_index[k]) st->next_index[k] = n + 1;
    for (k = 0; k < TH_STORE_CACHED_LABELS; k++)
        if (st->other[k].label[0] && strcmp(label, st->other[k].label) == 0 && n + 1 > st->other[k].next)
            st->other[k].next = n + 1;
}

static th_store_label_index_t *cached_label(th_store_t *st, const char *label)
{
    for (int k = 0; k < TH_STORE_CACHED_LABELS; k++)
        if (st->other[k].label[0] && strcmp(label, st->other[k].label) == 0) return &st->other[k];
    return NULL;
}

static void scan_cb(void *cb_ctx, const char *name)
{
    th_store_scan_name((th_store_t *)cb_ctx, name);
}

int th_store_rescan(th_store_t *st, const th_fs_ops_t *fs)
{
    if (fs == NULL || fs->list == NULL) return TH_FS_BAD_ARG;
    return fs->list(fs->ctx, scan_cb, st);
}

void th_store_set_labels(th_store_t *st, const th_labels_t *labels)
{
    int k;
    for (k = 0; k < TH_NUM_KEYS; k++)
        if (strcmp(st->labels.name[k], labels->name[k]) != 0) st->next_index[k] = 0;
    st->labels = *labels;
}

int th_sample_name(char *buf, size_t cap, const char *label, uint32_t index, const char *ext)
{
    int n;
    if (!th_label_valid(label) || index > TH_MAX_INDEX) return -1;
    n = snprintf(buf, cap, "%s.%lu.%s", label, (unsigned long)index, ext);
    if (n < 0 || (size_t)n >= cap) return -1;
    return n;
}

int th_captures_row(char *buf, size_t cap, const char *jpg_name, const char *label, uint32_t index,
                    uint32_t session, uint32_t millis, float ta_degc)
{
    char ta[24] = "";
    int n;
    if (isfinite(ta_degc)) th_fmt_fixed(ta, sizeof ta, ta_degc, 2); /* no %f: newlib-nano */
    n = snprintf(buf, cap, "%s,%s,%lu,%08lx,%lu,%s\n", jpg_name, label, (unsigned long)index,
                 (unsigned long)session, (unsigned long)millis, ta);
    if (n < 0 || (size_t)n >= cap) return -1;
    return n;
}

typedef struct {
    const char *label;
    uint32_t next;
} label_max_t;

static void label_max_cb(void *cb_ctx, const char *name)
{
    label_max_t *lm = (label_max_t *)cb_ctx;
    char label[TH_LABEL_MAX + 1];
    uint32_t n;
    if (th_parse_sample_name(name, label, &n) && strcmp(label, lm->label) == 0 && n + 1 > lm->next)
        lm->next = n + 1;
}

int th_store_save(th_store_t *st, const th_fs_ops_t *fs, int key, const char *label,
                  const uint8_t *jpg, size_t jpg_len, const float *temps,
                  uint32_t millis, float ta_degc, th_save_result_t *res)
{
    char pgm_name[TH_NAME_MAX], row[128];
    th_store_label_index_t *other = NULL;
    uint32_t n;
    int tries, rc = TH_FS_IO;
    memset(res, 0, sizeof *res);
    res->result = res->sidecar_result = res->log_result = TH_FS_BAD_ARG;
    if (key >= TH_NUM_KEYS || jpg == NULL || jpg_len == 0) return TH_FS_BAD_ARG;
    if (key >= 0) {
        label = st->labels.name[key];
    } else {
        int k;
        if (!th_label_valid(label)) return TH_FS_BAD_ARG;
        for (k = 0; k < TH_NUM_KEYS; k++)
            if (strcmp(label, st->labels.name[k]) == 0) key = k;
    }
    if (key >= 0) {
        n = st->next_index[key];
    } else if ((other = cached_label(st, label)) != NULL) {
        n = other->next;
    } else {
        label_max_t lm = {label, 0};
        if (fs->list == NULL || fs->list(fs->ctx, label_max_cb, &lm) != TH_FS_OK) return res->result = TH_FS_IO;
        st->label_listings++;
        n = lm.next;
        other = &st->other[st->other_next_slot];
        st->other_next_slot = (uint8_t)((st->other_next_slot + 1u) % TH_STORE_CACHED_LABELS);
        memcpy(other->label, label, strlen(label) + 1);
        other->next = n;
    }
    for (tries = 0; tries < TH_CREATE_TRIES; tries++, n++) {
        if (th_sample_name(res->jpg_name, sizeof res->jpg_name, label, n, "jpg") < 0 ||
            th_sample_name(pgm_name, sizeof pgm_name, label, n, "pgm") < 0)
            return res->result = TH_FS_BAD_ARG;
        if (fs->exists(fs->ctx, res->jpg_name) || fs->exists(fs->ctx, pgm_name)) continue;
        rc = fs->create_exclusive(fs->ctx, res->jpg_name, jpg, jpg_len);
        if (rc != TH_FS_EXISTS) break;
    }
    res->result = (tries == TH_CREATE_TRIES) ? TH_FS_IO : rc;
    if (res->result != TH_FS_OK) {
        res->jpg_name[0] = '\0';
        return res->result;
    }
    res->index = n;
    if (key >= 0 && n + 1 > st->next_index[key]) st->next_index[key] = n + 1;
    if (other != NULL && n + 1 > other->next) other->next = n + 1;
    if (temps != NULL) {
        uint8_t pgm[TH_PGM_BYTES];
        th_pgm_encode(temps, pgm, sizeof pgm);
        res->sidecar_result = fs->create_exclusive(fs->ctx, pgm_name, pgm, sizeof pgm);
    }
    {
        int new_log = !fs->exists(fs->ctx, TH_CAPTURES_CSV), len;
        len = th_captures_row(row, sizeof row, res->jpg_name, label, n, st->session, millis, ta_degc);
        res->log_result = TH_FS_OK;
        if (new_log)
            res->log_result = fs->append(fs->ctx, TH_CAPTURES_CSV, (const uint8_t *)TH_CAPTURES_HEADER,
                                         sizeof TH_CAPTURES_HEADER - 1);
        if (res->log_result == TH_FS_OK && len > 0)
            res->log_result = fs->append(fs->ctx, TH_CAPTURES_CSV, (const uint8_t *)row, (size_t)len);
    }
    return TH_FS_OK;
}

uint32_t th_session_next(const char *text, size_t len)
{
    uint32_t v = 0;
    size_t i = 0;
    int digits = 0;
    if (text == NULL) return 1;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) i++;
    for (; i < len && digits < 8; i++, digits++) {
        char c = text[i];
        uint32_t d;
        if (c >= '0' && c <= '9') d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (uint32_t)(c - 'A' + 10);
        else break;
        v = (v << 4) | d;
    }
    if (digits == 0) return 1;
    return v + 1u; /* wraps 0xffffffff -> 0, still 8 hex digits */
}

void th_session_format(uint32_t session, char buf[9])
{
    static const char hex[] = "0123456789abcdef";
    int i;
    for (i = 7; i >= 0; i--) {
        buf[i] = hex[session & 0xFu];
        session >>= 4;
    }
    buf[8] = '\0';
}
