set config [dict create name demo]
puts [dict get $config port]
