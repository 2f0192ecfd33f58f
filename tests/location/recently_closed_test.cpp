// RecentlyClosedConnections: remembers closed flows for in-flight writes,
// forgets the oldest beyond its capacity, and never holds id 0 (datagrams).
#include "location/recently_closed.hpp"

#include <gtest/gtest.h>

namespace cppbx::location {
namespace {

TEST(RecentlyClosedConnectionsTest, RemembersClosedIdsOnly) {
  RecentlyClosedConnections closed(4);
  closed.add(7);
  EXPECT_TRUE(closed.contains(7));
  EXPECT_FALSE(closed.contains(8));
}

TEST(RecentlyClosedConnectionsTest, IgnoresDatagramsAndDuplicates) {
  RecentlyClosedConnections closed(4);
  closed.add(0);
  EXPECT_FALSE(closed.contains(0));
  closed.add(5);
  closed.add(5);
  EXPECT_EQ(closed.size(), 1u);
}

TEST(RecentlyClosedConnectionsTest, ForgetsTheOldestBeyondItsCapacity) {
  RecentlyClosedConnections closed(3);
  for (transport::ConnectionId id : {1u, 2u, 3u, 4u}) closed.add(id);
  EXPECT_EQ(closed.size(), 3u);
  EXPECT_FALSE(closed.contains(1));
  for (transport::ConnectionId id : {2u, 3u, 4u}) EXPECT_TRUE(closed.contains(id)) << id;
}

}  // namespace
}  // namespace cppbx::location
