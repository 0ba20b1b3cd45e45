/**
 * @file storage_sd.h
 * SD-card adapter (Seeed_Arduino_FS 2.1.1): th_fs_ops_t for the core's storage policy
 * (th_store.h), card detect, small-file read and replace (labels.txt, session.txt: the policy
 * is in the core's device loop, th_device.c).
 *
 * Never-overwrite on this library: FILE_WRITE there is FA_CREATE_ALWAYS (truncates), so
 * samples are written to a temp file and renamed; FatFs f_rename fails when the target exists
 * (FR_EXIST), which makes the final step exclusive. The file is complete before its sample
 * name appears.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "th_labels.h"
#include "th_store.h"

/** Mount the card (SD.begin(SDCARD_SS_PIN, SDCARD_SPI, 4 MHz)) if one is inserted. @return mounted. */
bool storage_begin(void);
/** true if a card is inserted (SDCARD_DET_PIN low) and mounted; unmounts after a removal. */
bool storage_ok(void);
/** The th_fs_ops_t over the card root. */
const th_fs_ops_t *storage_fs(void);
/** Read a small file of the card root (e.g. "labels.txt") into buf, NUL-terminated.
 *  @return bytes read, -1 if missing or no card. */
long storage_read_file(const char *name, char *buf, size_t cap);
/** Replace a file of our own (session.txt) with these bytes. @return th_fs_result_t. */
int storage_replace_file(const char *name, const uint8_t *data, size_t len);
