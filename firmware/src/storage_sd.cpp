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

long storage_read_file(const char *name, char *buf, size_t cap)
{
    char p[TH_NAME_MAX + 2];
    if (cap == 0 || !storage_ok()) return -1;
    root_path(p, sizeof p, name);
    if (!SD.exists(p)) return -1;
    File f = SD.open(p, FILE_READ);
    if (!f) return -1;
    int n = f.read(buf, (uint32_t)(cap - 1));
    f.close();
    if (n < 0) return -1;
    buf[n] = '\0';
    return n;
}

int storage_replace_file(const char *name, const uint8_t *data, size_t len)
{
    char p[TH_NAME_MAX + 2];
    if (!storage_ok()) return TH_FS_NO_CARD;
    root_path(p, sizeof p, name);
    return write_file(p, "w", data, len);  // our own file: replacing it is intended
}
