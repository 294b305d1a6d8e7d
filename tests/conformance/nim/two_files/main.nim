import util

echo greeting()
