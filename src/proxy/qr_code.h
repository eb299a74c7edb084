// QR codes for the terminal, drawn locally with libqrencode (a share link is
// never sent to a third-party QR service).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::proxy {

struct QrMatrix {
  int version = 0;         // 1..40
  int size = 0;            // modules per side: 17 + 4 * version
  std::vector<bool> dark;  // size * size, row-major

  bool at(int x, int y) const {
    return dark[static_cast<size_t>(y) * static_cast<size_t>(size) + static_cast<size_t>(x)];
  }
};

// Error correction level M, byte mode. nullopt if the text does not fit.
std::optional<QrMatrix> encode_qr(std::string_view text);

// Four light modules of quiet zone on every side.
inline constexpr int kQrQuietZone = 4;

enum class QrColors {
  // Explicit black on white with ANSI SGR codes: reads right on dark and on
  // light terminal themes alike. For a terminal.
  ansi,
  // No escape codes: blocks are drawn where modules are *light*, which is
  // right for the usual light-on-dark terminal (qrencode -t UTF8 does the
  // same). For logs and files.
  plain,
};

// Two module rows per text line with the half blocks "▀", "▄", "█" and space,
// quiet zone included; each line ends with '\n'.
std::string render_qr(const QrMatrix& qr, QrColors colors);

// encode_qr + render_qr; "" if the text does not fit in a QR code.
std::string qr_for_terminal(std::string_view text, QrColors colors = QrColors::ansi);

}  // namespace ferry::proxy
