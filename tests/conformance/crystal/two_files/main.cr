require "./util"

puts Util.greeting
