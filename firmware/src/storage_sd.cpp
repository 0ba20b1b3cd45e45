// SD-card adapter. See storage_sd.h. API: Seeed_Arduino_FS v2.1.1 (src/Seeed_FS.h, src/SD/Seeed_SD.h).
#include <SPI.h>
#include <Arduino.h>
#include <Seeed_FS.h>
#include "SD/Seeed_SD.h"

#include <stdio.h>
#include <string.h>

#include "storage_sd.h"
#include "tinyheat_config.h"

static bool s_mounted;
static const char *const k_tmp = "/th_tmp.bin";

static bool card_present(void)
{
    pinMode(SDCARD_DET_PIN, INPUT_PULLUP);
    return digitalRead(SDCARD_DET_PIN) == LOW;  // LOW with a card seated
}

bool storage_begin(void)
{
    if (s_mounted) {
        SD.end();
        s_mounted = false;
    }
    if (!card_present()) return false;
    s_mounted = SD.begin(SDCARD_SS_PIN, SDCARD_SPI, TH_SD_SPI_HZ);
    return s_mounted;
}

bool storage_ok(void)
{
    if (s_mounted && !card_present()) {
        SD.end();  // allows a new card to be initialised later (Seeed_SD.h)
        s_mounted = false;
    }
    return s_mounted;
}

static void root_path(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "/%s", name); }

static int fs_exists(void *, const char *name)
{
    char p[TH_NAME_MAX + 2];
    if (!storage_ok()) return 0;
    root_path(p, sizeof p, name);
    return SD.exists(p) ? 1 : 0;
}

static int write_file(const char *path, const char *mode, const uint8_t *data, size_t len)
{
    File f = SD.open(path, mode);
    if (!f) return TH_FS_IO;
    size_t n = f.write(data, len);
    f.flush();
    f.close();  // the File destructor does not close in this library
    return n == len ? TH_FS_OK : TH_FS_IO;
}

static int fs_create_exclusive(void *, const char *name, const uint8_t *data, size_t len)
{
    char p[TH_NAME_MAX + 2];
    if (!storage_ok()) return TH_FS_NO_CARD;
    root_path(p, sizeof p, name);
    if (SD.exists(p)) return TH_FS_EXISTS;
    SD.remove(k_tmp);  // our own scratch file from an interrupted write
    if (write_file(k_tmp, "wx", data, len) != TH_FS_OK) {  // "wx" = FA_CREATE_NEW
        SD.remove(k_tmp);
        return storage_ok() ? TH_FS_IO : TH_FS_NO_CARD;
    }
    if (!SD.rename(k_tmp, p)) {  // f_rename: FR_EXIST if p appeared meanwhile
        SD.remove(k_tmp);
        return SD.exists(p) ? TH_FS_EXISTS : TH_FS_IO;
    }
    return TH_FS_OK;
}

static int fs_append(void *, const char *name, const uint8_t *data, size_t len)
{
    char p[TH_NAME_MAX + 2];
    if (!storage_ok()) return TH_FS_NO_CARD;
    root_path(p, sizeof p, name);
    return write_file(p, "a", data, len);  // FA_OPEN_APPEND | FA_WRITE
}

static int fs_list(void *, void (*on_name)(void *, const char *), void *cb_ctx)
{
    if (!storage_ok()) return TH_FS_NO_CARD;
    File root = SD.open("/");
    if (!root) return TH_FS_IO;
    for (;;) {
        File f = root.openNextFile();
        if (!f) break;
        const char *full = f.name();  // "/face0.3.jpg": strip the directory part
        const char *base = strrchr(full, '/');
        base = base ? base + 1 : full;
        if (!f.isDirectory()) on_name(cb_ctx, base);
        f.close();
    }
    root.close();
    return TH_FS_OK;
}

static const th_fs_ops_t s_ops = {nullptr, fs_exists, fs_create_exclusive, fs_append, fs_list};

const th_fs_ops_t *storage_fs(void) { return &s_ops; }

static size_t read_small(const char *path, char *buf, size_t cap)
{
    if (!storage_ok() || !SD.exists(path)) return 0;
    File f = SD.open(path, FILE_READ);
    if (!f) return 0;
    size_t n = f.read(buf, (uint32_t)cap);
    f.close();
    return n;
}

int storage_read_labels(th_labels_t *labels, char *status, size_t status_cap)
{
    static char text[1024];
    size_t n = read_small("/labels.txt", text, sizeof text);
    return th_labels_parse(n ? text : nullptr, n, labels, status, status_cap);
}

uint32_t storage_next_session(void)
{
    char text[24], hex[9];
    size_t n = read_small("/session.txt", text, sizeof text);
    uint32_t session = th_session_next(n ? text : nullptr, n);
    if (storage_ok()) {
        th_session_format(session, hex);
        hex[8] = '\n';
        write_file("/session.txt", "w", (const uint8_t *)hex, 9);  // our own file: replacing it is intended
    }
    return session;
}
