<?php
// The stand-in app page: one visit = one row in MariaDB, answered as JSON, so a request through
// the gateway proves the whole path to the database (a growing count cannot come from a cache).
header('Content-Type: application/json');
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
try {
    $db = new mysqli(getenv('DRUPAL_DB_HOST'), getenv('DRUPAL_DB_USER'), getenv('DRUPAL_DB_PASSWORD'), getenv('DRUPAL_DB_NAME'));
    $db->query('CREATE TABLE IF NOT EXISTS ato_visits (id INT AUTO_INCREMENT PRIMARY KEY, at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP(3))');
    $db->query('INSERT INTO ato_visits () VALUES ()');
    $visits = (int) $db->query('SELECT COUNT(*) FROM ato_visits')->fetch_row()[0];
    $version = $db->query('SELECT VERSION()')->fetch_row()[0];
    echo json_encode(['db' => 'ok', 'server' => $version, 'visits' => $visits]), "\n";
} catch (mysqli_sql_exception $e) {
    http_response_code(503);
    // The error names what failed (host, access, database), never the password.
    echo json_encode(['db' => 'error', 'error' => $e->getMessage()]), "\n";
}
