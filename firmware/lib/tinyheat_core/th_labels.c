/* labels.txt parsing. See th_labels.h. */
#include "th_labels.h"

#include <stdio.h>
#include <string.h>

static const char *const k_defaults[TH_NUM_KEYS] = {"face0", "face1", "env"};

void th_labels_default(th_labels_t *labels)
{
    int k;
    for (k = 0; k < TH_NUM_KEYS; k++) {
        strncpy(labels->name[k], k_defaults[k], TH_LABEL_MAX);
        labels->name[k][TH_LABEL_MAX] = '\0';
    }
}

static int label_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int label_span_valid(const char *s, size_t n)
{
    size_t i;
    if (n < 1 || n > TH_LABEL_MAX) return 0;
    for (i = 0; i < n; i++)
        if (!label_char_ok(s[i])) return 0;
    return 1;
}

int th_label_valid(const char *s)
{
    size_t n;
    if (s == NULL) return 0;
    n = strlen(s);
    return label_span_valid(s, n);
}

static void append(char *status, size_t cap, const char *text)
{
    size_t used;
    if (status == NULL || cap == 0) return;
    used = strlen(status);
    if (used + 1 >= cap) return;
    strncat(status, text, cap - used - 1);
}

int th_labels_parse(const char *text, size_t len, th_labels_t *labels, char *status, size_t status_cap)
{
    size_t pos = 0;
    int key = 0, from_file = 0, line_no = 0, extra = 0;
    char msg[128];
    th_labels_default(labels);
    if (status && status_cap) status[0] = '\0';
    if (text == NULL) len = 0;
    while (pos < len && text[pos] != '\0') {
        size_t start = pos, end;
        while (pos < len && text[pos] != '\n' && text[pos] != '\r' && text[pos] != '\0') pos++;
        end = pos;
        /* consume one line ending: LF, CR or CRLF */
        if (pos < len && text[pos] == '\r') {
            pos++;
            if (pos < len && text[pos] == '\n') pos++;
        } else if (pos < len && text[pos] == '\n') {
            pos++;
        }
        line_no++;
        while (start < end && (text[start] == ' ' || text[start] == '\t')) start++;
        while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t')) end--;
        if (end == start || text[start] == '#') continue;
        if (key >= TH_NUM_KEYS) { extra++; continue; }
        if (label_span_valid(text + start, end - start)) {
            memcpy(labels->name[key], text + start, end - start);
            labels->name[key][end - start] = '\0';
            from_file++;
        } else {
            snprintf(msg, sizeof msg, "labels.txt line %d invalid -> %s; ", line_no, labels->name[key]);
            append(status, status_cap, msg);
        }
        key++;
    }
    if (len == 0) {
        append(status, status_cap, "no labels.txt: defaults; ");
    } else if (key < TH_NUM_KEYS) {
        snprintf(msg, sizeof msg, "labels.txt has %d of 3 labels; ", key);
        append(status, status_cap, msg);
    }
    if (extra) {
        snprintf(msg, sizeof msg, "%d extra line(s) ignored; ", extra);
        append(status, status_cap, msg);
    }
    snprintf(msg, sizeof msg, "A=%s B=%s C=%s", labels->name[0], labels->name[1], labels->name[2]);
    append(status, status_cap, msg);
    return from_file;
}
