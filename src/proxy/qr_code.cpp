#include "proxy/qr_code.h"

#include <qrencode.h>

#include <memory>

namespace ferry::proxy {
namespace {

struct QrcodeDeleter {
  void operator()(QRcode* q) const { QRcode_free(q); }
};

// Half blocks indexed by (top << 1) | bottom: which halves of the cell are
// drawn in the foreground colour.
constexpr const char* kCells[4] = {" ", "\u2584", "\u2580", "\u2588"};  // " ", ▄, ▀, █

// Black text on a bright white background, then back to the terminal's own.
constexpr const char* kAnsiOn = "\x1b[30;107m";
constexpr const char* kAnsiOff = "\x1b[0m";

}  // namespace

std::optional<QrMatrix> encode_qr(std::string_view text) {
  const std::string s(text);
  std::unique_ptr<QRcode, QrcodeDeleter> q(
      QRcode_encodeString(s.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (!q || q->width <= 0) return std::nullopt;
  QrMatrix m;
  m.version = q->version;
  m.size = q->width;
  m.dark.resize(static_cast<size_t>(m.size) * static_cast<size_t>(m.size));
  for (size_t i = 0; i < m.dark.size(); ++i) m.dark[i] = (q->data[i] & 1) != 0;
  return m;
}

std::string render_qr(const QrMatrix& qr, QrColors colors) {
  const int total = qr.size + 2 * kQrQuietZone;
  // Dark module at (x, y) of the code with its quiet zone; outside is light.
  auto dark = [&](int x, int y) {
    x -= kQrQuietZone;
    y -= kQrQuietZone;
    return x >= 0 && y >= 0 && x < qr.size && y < qr.size && qr.at(x, y);
  };
  // Which modules get the foreground colour: dark ones when we set black on
  // white ourselves, light ones when the terminal's (usually light) text
  // colour is all we have.
  const bool ink_is_dark = colors == QrColors::ansi;
  std::string out;
  for (int y = 0; y < total; y += 2) {
    if (colors == QrColors::ansi) out += kAnsiOn;
    for (int x = 0; x < total; ++x) {
      const bool top = dark(x, y) == ink_is_dark;
      // An odd total leaves the last line's lower half outside: light.
      const bool bottom = (y + 1 < total ? dark(x, y + 1) : false) == ink_is_dark;
      out += kCells[(top ? 2 : 0) | (bottom ? 1 : 0)];
    }
    if (colors == QrColors::ansi) out += kAnsiOff;
    out += '\n';
  }
  return out;
}

std::string qr_for_terminal(std::string_view text, QrColors colors) {
  auto m = encode_qr(text);
  return m ? render_qr(*m, colors) : std::string();
}

}  // namespace ferry::proxy
