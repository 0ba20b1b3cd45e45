/* tinyheat USB serial link bound to the application (in tinyheat_core: the link library itself
 * knows nothing of the app): host commands applied to the application state machine.
 *
 * Binds th_link_device_t's command callbacks to the th_app_cmd_* API of
 * tinyheat_core/th_app.h and fills HELLO from th_app_t, so the firmware adapter
 * (firmware/src/serial_link.cpp) and the simulated device (firmware/host/) share one mapping.
 * Status mapping: TH_APP_OK -> TH_LINK_ST_OK, TH_APP_EINVAL -> TH_LINK_ST_BAD_ARG,
 * TH_APP_EBUSY -> TH_LINK_ST_REFUSED. Link modes are th_mode_t values.
 */
#ifndef TH_LINK_APP_H
#define TH_LINK_APP_H

#include "th_app.h"
#include "th_link_device.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Context passed as `app` to th_link_device_init together with th_link_app_commands. */
typedef struct {
    th_app_t *app;                  /**< set before each th_link_device_rx (may change per poll) */
    const char *fw_version;         /**< e.g. "0.1.0" */
    float emissivity;               /**< emissivity given to MLX90640_CalculateTo (0 < e <= 1) */
    int n_model;                    /**< classifier output labels (0 if no model) */
    const char *const *model_labels;
    /** Identity trailer of HELLO: sensor geometry (0 = not sent) and the model's id ("" none). */
    uint8_t rows, cols;
    const char *model_id;
    /** Optional: run statistics for the HELLO trailer (sets has_stats), and the EEPROM image
     *  for GET_EEPROM (NULL = refused); both get `owner`. */
    void (*stats)(void *owner, th_link_hello_t *h);
    const uint16_t *(*eeprom)(void *owner);
    void *owner;
} th_link_app_ctx_t;

/** The callback table (static, shared). */
const th_link_commands_t *th_link_app_commands(void);

#ifdef __cplusplus
}
#endif
#endif /* TH_LINK_APP_H */
