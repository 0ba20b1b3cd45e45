/**
 * @file storage_sd.h
 * SD-card adapter (Seeed_Arduino_FS 2.1.1): th_fs_ops_t for the core's storage policy
 * (th_store.h), card detect, labels.txt and session.txt.
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
/** Read /labels.txt (up to 1 KB) and parse it (th_labels_parse); defaults without a card. */
int storage_read_labels(th_labels_t *labels, char *status, size_t status_cap);
/** Read /session.txt, return previous + 1 (1 if missing) and write it back (8 hex digits). */
uint32_t storage_next_session(void);
