<?php
function greeting(): string {
    return "Hello from a module";
}
