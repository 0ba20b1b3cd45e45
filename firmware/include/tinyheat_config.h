/**
 * @file tinyheat_config.h
 * Device constants of the tinyheat Wio Terminal firmware (not model parameters: those come
 * from firmware/lib/tinyheat_model/tinyheat_model.h). Plain C, included by the adapters.
 */
#ifndef TINYHEAT_CONFIG_H
#define TINYHEAT_CONFIG_H

/* ---- MLX90640 (Melexis datasheet / driver docs) ---- */
#define TH_MLX_I2C_ADDR 0x33           /**< default 7-bit address */
#define TH_MLX_EEPROM_I2C_HZ 400000UL  /**< EEPROM dump at 400 kHz (Seeed MaxRefreshRate example) */
#define TH_MLX_RUN_I2C_HZ 1000000UL    /**< then 1 MHz fast-mode plus for frame reads (Wire.setClock value: the core's BAUD = 23 gives ~0.79 MHz SCL on the SAMD51, README "Budgets") */
#define TH_MLX_EMISSIVITY 0.95f        /**< emissivity used by MLX90640_CalculateTo (driver example) */
#define TH_MLX_TA_SHIFT 8.0f           /**< reflected temperature = Ta - 8 K in open air (Melexis driver, TA_SHIFT) */
#define TH_MLX_DEFAULT_REFRESH 0x05    /**< 16 Hz per subpage = 8 full frames/s (the frame budget in firmware/README.md) */
/* Sensor: the MLX90640 (32 x 24) by default; -DTH_SENSOR_MLX90641 builds for the MLX90641 (16 x 12,
 * src/sensor_mlx90641.cpp, platformio.ini env seeed_wio_terminal_mlx90641). */
#ifdef TH_SENSOR_MLX90641
#define TH_SENSOR_ROWS 12
#define TH_SENSOR_COLS 16
#define TH_SENSOR_NAME "MLX90641"
#else
#define TH_SENSOR_ROWS 24
#define TH_SENSOR_COLS 32
#define TH_SENSOR_NAME "MLX90640"
#endif
#define TH_MLX41_TA_SHIFT 5.0f         /**< MLX90641: reflected temperature = Ta - 5 K (Melexis MLX90641 driver example, TA_SHIFT) */
#define TH_MLX_MAX_ERRORS 3            /**< consecutive read errors before the sensor is reported absent */

/* ---- screen layout, pixels (320 x 240 landscape, setRotation(3): keys on top) ---- */
#define TH_LCD_ROTATION 3
#define TH_TOP_BAR_H 24                /**< mode + labels / prediction */
#define TH_MAP_X 0
#define TH_MAP_Y 24
#define TH_MAP_W 256                   /**< 8x of 32 */
#define TH_MAP_H 192                   /**< 8x of 24 */
#define TH_LEGEND_X 264                /**< colour bar and min/centre/max text */
#define TH_STATUS_Y 216                /**< status line, 24 px */
#define TH_MIRROR_VIEW 0               /**< 1 = show the image mirrored left-right (selfie view) */

/* ---- heat-map range ---- */
#define TH_AUTO_RANGE 1                /**< 1 = frame min..max, 0 = fixed 20..37 degC */
#define TH_FIXED_LO_DEGC 20.0f
#define TH_FIXED_HI_DEGC 37.0f
#define TH_AUTO_MIN_SPAN_K 2.0f

/* ---- classification ---- */
#define TH_SMOOTH_FRAMES 4             /**< mean of the last 4 probability vectors */
#define TH_UNCERTAIN_BELOW 0.60f       /**< smoothed confidence below this shows "uncertain" */

/* ---- SD card ---- */
#define TH_SD_SPI_HZ 4000000UL         /**< SD.begin(SDCARD_SS_PIN, SDCARD_SPI, 4 MHz) */
#define TH_JPEG_BUF_BYTES 4096         /**< JPEGENC output buffer (needs > 512 B of headroom) */

#endif
