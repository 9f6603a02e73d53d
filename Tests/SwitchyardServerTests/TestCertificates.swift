import Foundation

/// A test certificate authority, a server certificate it signed for `localhost` and
/// 127.0.0.1, and a client certificate (all valid until 2126), written to temporary files for TLS tests. Test material only:
/// the private key is public.
enum TestCertificates {
    static let caPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBojCCAUegAwIBAgIUN5gUUu0vd4I+gMtvbAelhGdW66EwCgYIKoZIzj0EAwIw
        HTEbMBkGA1UEAwwSU3dpdGNoeWFyZCBUZXN0IENBMCAXDTI2MTEyOTE2NTk1NVoY
        DzIxMjYxMTA1MTY1OTU1WjAdMRswGQYDVQQDDBJTd2l0Y2h5YXJkIFRlc3QgQ0Ew
        WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQ8suI2z/n67jY1ri7Cu/SEO2bRQ5F7
        ZC6Cg2l86EXVuTNJ1Ll3QXg8t+NCgt5mVwlxVP3bLRLYGPM0pE40Om61o2MwYTAd
        BgNVHQ4EFgQUTBX+nyEspAiNOpgy8e1fTXZBrjswHwYDVR0jBBgwFoAUTBX+nyEs
        pAiNOpgy8e1fTXZBrjswDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYw
        CgYIKoZIzj0EAwIDSQAwRgIhAIHQyo8w07y2I1oqrJcJlFpPIaHbGDwNfmuDoB8Z
        YiqWAiEAwZ6TgMcBoZu2pISYQ7mDGjzlqqEVN8d7Mf2CX6QtXko=
        -----END CERTIFICATE-----
        """

    static let serverPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBtDCCAVmgAwIBAgIUKYn4njPhAEBuIJNT1wXs71ERAgAwCgYIKoZIzj0EAwIw
        HTEbMBkGA1UEAwwSU3dpdGNoeWFyZCBUZXN0IENBMCAXDTI2MTEyOTE2NTk1NVoY
        DzIxMjYxMTA1MTY1OTU1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjO
        PQIBBggqhkjOPQMBBwNCAAS55yuvyuqC3EaENdDzALHE90XPgK2xAQAycgYzYXeb
        IzptktispZdymRw+zGMykKIg8Mz/PYCMfc8/MspxbDlTo34wfDAaBgNVHREEEzAR
        gglsb2NhbGhvc3SHBH8AAAEwCQYDVR0TBAIwADATBgNVHSUEDDAKBggrBgEFBQcD
        ATAdBgNVHQ4EFgQUPhGiaQGj2GgPZKePirwTl1cMhxswHwYDVR0jBBgwFoAUTBX+
        nyEspAiNOpgy8e1fTXZBrjswCgYIKoZIzj0EAwIDSQAwRgIhAMEvx9E1Z0CxiBUd
        aUdBhY5/iwWDNYLzSU/2uPB904cBAiEA/pwGQm+xyNEPc1iQdSZuhS0DVGIlcX26
        P98h4h5MaY8=
        -----END CERTIFICATE-----
        """

    static let serverKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgduf0+DGfc/rbEROw
        lhL+E1LJlnfOOWz41WfD5M6X0MuhRANCAAS55yuvyuqC3EaENdDzALHE90XPgK2x
        AQAycgYzYXebIzptktispZdymRw+zGMykKIg8Mz/PYCMfc8/MspxbDlT
        -----END PRIVATE KEY-----
        """

    static let clientPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBnzCCAUWgAwIBAgIUKYn4njPhAEBuIJNT1wXs71ERAgEwCgYIKoZIzj0EAwIw
        HTEbMBkGA1UEAwwSU3dpdGNoeWFyZCBUZXN0IENBMCAXDTI2MTEyOTE4NDkwMloY
        DzIxMjYxMTA1MTg0OTAyWjAcMRowGAYDVQQDDBFzd2l0Y2h5YXJkLWNsaWVudDBZ
        MBMGByqGSM49AgEGCCqGSM49AwEHA0IABB8f8bQ+trwmmWMV4gWjqYNRbmI2DBBW
        NN7y8qbxYJbfGztxV7248M69awP0fiTV7zrUPf3GdegTtyfoBEskQtijYjBgMAkG
        A1UdEwQCMAAwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0OBBYEFFJfCrR9oh1z
        rtZ8gFiaDqMD9WdSMB8GA1UdIwQYMBaAFEwV/p8hLKQIjTqYMvHtX012Qa47MAoG
        CCqGSM49BAMCA0gAMEUCIQCxBTLnYnkTyQHQ9HpdcSHyQqk8i7RFdLdbVFk9OsYl
        uAIgVORDV5nqa07EipxQmX3ZcvkrTg7mO3binkJdfGmaBS0=
        -----END CERTIFICATE-----

        """

    static let clientKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgNK/QMKba2E0ILDLk
        kJrywupO69s64XMfIjGas0HyJx2hRANCAAQfH/G0Pra8JpljFeIFo6mDUW5iNgwQ
        VjTe8vKm8WCW3xs7cVe9uPDOvWsD9H4k1e861D39xnXoE7cn6ARLJELY
        -----END PRIVATE KEY-----

        """

    /// Writes the files to a fresh temporary directory: the CA, the server's certificate and
    /// key, and a client certificate and key (for mutual TLS) the same CA signed.
    static func writeFiles() throws -> (
        ca: String, certificate: String, key: String, clientCertificate: String, clientKey: String
    ) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "switchyard-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ca = directory.appendingPathComponent("ca.pem").path
        let certificate = directory.appendingPathComponent("server.pem").path
        let key = directory.appendingPathComponent("server.key").path
        try caPEM.write(toFile: ca, atomically: true, encoding: .utf8)
        try serverPEM.write(toFile: certificate, atomically: true, encoding: .utf8)
        try serverKeyPEM.write(toFile: key, atomically: true, encoding: .utf8)
        let clientCertificate = directory.appendingPathComponent("client.pem").path
        let clientKey = directory.appendingPathComponent("client.key").path
        try clientPEM.write(toFile: clientCertificate, atomically: true, encoding: .utf8)
        try clientKeyPEM.write(toFile: clientKey, atomically: true, encoding: .utf8)
        return (ca, certificate, key, clientCertificate, clientKey)
    }
}
