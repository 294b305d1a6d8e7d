<?php
function load(string $path): string {
    throw new RuntimeException("cannot load $path");
}
echo load("config.ini");
