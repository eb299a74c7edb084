#include "chat/client/content_padding.h"

#include <string>

namespace ferry::chat::client {

void pad_content(pb::Content& c) {
  c.clear_padding();
  // Everything but the padding bytes: the padding field adds a tag byte and
  // a length byte (its length is below 128) to what it carries.
  const size_t rest = c.ByteSizeLong() + 2;
  c.set_padding(std::string(kContentBlock - rest % kContentBlock, '\0'));
}

}  // namespace ferry::chat::client
