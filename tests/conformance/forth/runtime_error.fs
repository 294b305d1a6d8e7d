: average ( sum n -- avg ) / ;

10 0 average . cr
